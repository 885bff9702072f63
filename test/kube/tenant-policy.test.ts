// The tenant policy and the trust of run objects on the kwok cluster, with exactly the chart's
// runner RBAC (#19 findings 1, 6, 7, 8, 9): with a Kubernetes client a caller may not pick the
// local runner; pod options and secrets outside the operator's lists are refused before any
// object is made; a Job someone else made under k6gate's run name, or a verdict someone edited,
// is refused instead of answered from; the janitor forgets namespaces where it finds no run.

import { beforeAll, expect, test } from 'bun:test';
import type { KubeTransport } from '../../src/kube/client.ts';
import { createLogger } from '../../src/core/log.ts';
import { sweepOrphans } from '../../src/runners/pods/janitor.ts';
import { analysisLoop, flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import {
  getKubeCluster,
  objectsLeft,
  runnerNamespace,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { RUNNER_RULES } from '../helpers/runner-rbac.ts';

const CHAOS = 'pod-container-running-failed.stage.kwok.x-k8s.io';
const SCRIPT = 'export default function () {}';
/** A stateful job run whose pod kwok ends with exit 99 about a second after creation. */
const failingStateful = {
  script: SCRIPT,
  mode: 'stateful',
  runner: 'job',
  runner_labels: JSON.stringify({ [CHAOS]: 'true' }),
  runner_annotations: JSON.stringify({
    [`${CHAOS}/exit-code`]: '99',
    [`${CHAOS}/reason`]: 'Error',
    [`${CHAOS}/delay`]: '1s',
  }),
};

/** A pod template the restricted namespace admits (the insider's own Job). */
const RESTRICTED_POD = {
  spec: {
    restartPolicy: 'Never',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'x',
        image: 'busybox',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
};

describeKube('tenant policy and run-object trust on a kwok cluster (the chart RBAC)', () => {
  let cluster: KubeCluster;
  let ns: string;
  let kube: KubeTransport;

  beforeAll(async () => {
    cluster = await getKubeCluster();
    ({ ns, kube } = await runnerNamespace(cluster.env, 'tenancy', RUNNER_RULES.job));
  }, 120_000);

  test('the defaults with a Kubernetes client: local, pod options and secrets outside the lists are 403, and nothing is made', async () => {
    // RUNNERS_ALLOWED unset (the helper's open tenancy off): the pod runners only.
    await using d = startInProcess({
      kube,
      env: { RUNNERS_ALLOWED: '' },
      args: [
        '--runner',
        'job',
        '--secrets-allowed',
        'k6-*',
        '--runner-images-allowed',
        'grafana/k6',
      ],
    });
    const cases: [Record<string, string>, string][] = [
      [
        { runner: 'local' },
        'metadata.runner: runner "local" is not allowed (--runners-allowed: job, k6-operator)',
      ],
      [
        { runner_labels: '{"app":"podinfo-primary"}' },
        'metadata.runner_labels: key "app" is not allowed (--runner-label-keys-allowed)',
      ],
      [
        {
          runner_annotations: '{"container.apparmor.security.beta.kubernetes.io/k6":"unconfined"}',
        },
        'metadata.runner_annotations: key "container.apparmor.security.beta.kubernetes.io/k6" is not allowed (--runner-annotation-keys-allowed)',
      ],
      [
        { node_selector: '{"node-role.kubernetes.io/control-plane":""}' },
        'metadata.node_selector: key "node-role.kubernetes.io/control-plane" is not allowed (--node-selector-keys-allowed)',
      ],
      [
        { tolerations: '[{"operator":"Exists"}]' },
        'metadata.tolerations.0: operator "Exists" without a key tolerates every taint; name the key',
      ],
      [
        { runner_resources: '{"requests":{"cpu":"900","memory":"4000Gi"}}' },
        'metadata.runner_resources.requests.cpu: 900 is over the ceiling 4 (--max-runner-resources)',
      ],
      [
        { runner_image: 'grafana/k6-evil/backdoor:latest' },
        'metadata.runner_image: image "grafana/k6-evil/backdoor:latest" is not allowed (--runner-images-allowed)',
      ],
      [
        { kubernetes_secrets: '{"KEY":"app-tls/tls.key"}' },
        'metadata.kubernetes_secrets.KEY: secret "app-tls" is not allowed (--secrets-allowed)',
      ],
    ];
    for (const [meta, message] of cases) {
      const res = await postLaunch(
        d.url,
        flaggerPayload({ script: SCRIPT, ...meta }, { namespace: ns, name: 'abuse' }),
      );
      const answer = (await res.text()).trim();
      expect([res.status, answer]).toEqual([403, `error while authorizing request: ${message}`]);
    }
    expect(await objectsLeft(cluster.env, ns)).toEqual([]);
  }, 60_000);

  test('a forged verdict on a kept Job, then a Job someone else made under the run name: refused, never 200', async () => {
    const body = {
      ...flaggerPayload(failingStateful, { namespace: ns, name: 'forged' }),
      type: 'rollout',
    };
    const a = startInProcess({ kube, args: ['--start-timeout', '30s', '--stateful-ttl', '1h'] });
    try {
      const answers = await analysisLoop(a.url, body);
      expect(answers.at(-1)?.status).toBe(400); // the real verdict: failed
    } finally {
      await a.close();
    }
    const jobsPath = `/apis/batch/v1/namespaces/${ns}/jobs`;
    const [job] = (
      await cluster.env.admin('GET', `${jobsPath}?labelSelector=k6gate.io%2Fcanary-name%3Dforged`)
    ).items;
    const name = job.metadata.name as string;
    const forged = JSON.stringify({
      verdict: 'passed',
      reason: 'all good',
      exitCode: 0,
      durationMs: 1,
    });

    // A namespace insider edits the recorded verdict (again on a conflict: the Job controller
    // writes the Job's status meanwhile).
    await until(async () => {
      const fresh = await cluster.env.admin('GET', `${jobsPath}/${name}`);
      fresh.metadata.annotations['k6gate.io/verdict'] = forged;
      try {
        await cluster.env.admin('PUT', `${jobsPath}/${name}`, fresh);
        return true;
      } catch (error) {
        if (String(error).includes(': 409 ')) return false;
        throw error;
      }
    }, 'the forged verdict');
    const b = startInProcess({ kube, args: ['--start-timeout', '30s'] }); // a replica without state
    try {
      const res = await postLaunch(b.url, body);
      expect(res.status).toBe(400);
      expect((await res.text()).trim()).toBe(
        `error while launching test: the verdict on Job ${ns}/${name} was not recorded by k6gate (no valid k6gate.io/verdict-signature); refusing to answer from it: delete the Job`,
      );
    } finally {
      await b.close();
    }

    // The insider replaces the Job with one of their own under the same name.
    await cluster.env.admin('DELETE', `${jobsPath}/${name}?propagationPolicy=Foreground`);
    await until(async () => (await objectsLeft(cluster.env, ns)).length === 0, 'the deletion');
    await cluster.env.admin('POST', jobsPath, {
      metadata: {
        name,
        labels: job.metadata.labels,
        annotations: { 'k6gate.io/verdict': forged },
      },
      spec: { suspend: true, template: RESTRICTED_POD },
    });
    const c = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    try {
      const res = await postLaunch(c.url, body);
      expect(res.status).toBe(400);
      expect((await res.text()).trim()).toBe(
        `error while launching test: Job ${ns}/${name} exists but k6gate did not make it (no valid k6gate.io/signature); refusing to attach to it or answer from it: delete it`,
      );
    } finally {
      await c.close();
    }
    await cluster.env.admin('DELETE', `${jobsPath}/${name}?propagationPolicy=Foreground`);
    await until(async () => (await objectsLeft(cluster.env, ns)).length === 0, 'the cleanup');
  }, 120_000);

  test('the janitor forgets a namespace where it finds no run of k6gate, and keeps one with a run', async () => {
    const empty = await cluster.env.createNamespace('tenancy-empty');
    const jobsPath = `/apis/batch/v1/namespaces/${ns}/jobs`;
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await cluster.env.admin('POST', jobsPath, {
      metadata: {
        name: 'k6gate-kept',
        labels: { 'app.kubernetes.io/managed-by': 'k6gate' },
        annotations: { 'k6gate.io/deadline': future },
      },
      spec: { suspend: true, template: RESTRICTED_POD },
    });
    const forgotten: string[] = [];
    const deleted = await sweepOrphans({
      kube,
      logger: createLogger({ level: 'error', format: 'json' }),
      clock: { now: () => Date.now() },
      namespaces: () => [ns, empty],
      forget: (n) => forgotten.push(n),
    });
    expect([deleted, forgotten]).toEqual([0, [empty]]);
    await cluster.env.admin('DELETE', `${jobsPath}/k6gate-kept?propagationPolicy=Foreground`);
    await until(async () => (await objectsLeft(cluster.env, ns)).length === 0, 'the cleanup');
  }, 30_000);
});
