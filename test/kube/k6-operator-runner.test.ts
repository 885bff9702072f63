// runner: k6-operator on the kwok cluster, with the k6-operator contract double
// (test/helpers/k6-operator-double.ts) acting on the TestRuns k6gate creates. Every object is
// admitted in a namespace that enforces the restricted Pod Security Standard. Runner outcomes
// come from kwok's Stages (set per test through runner_labels / runner_annotations); the double
// reports no verdict, so the verdict is k6gate's reading of the runner pods.

import { beforeAll, expect, test } from 'bun:test';
import type { KubeTransport } from '../../src/kube/client.ts';
import { flaggerPayload, postLaunch, startInProcess, waitFor } from '../helpers/daemon.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { RUNNER_RULES } from '../helpers/runner-rbac.ts';
import {
  getKubeCluster,
  objectsLeft,
  runnerNamespace,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { getOperatorDouble, type OperatorDouble } from '../helpers/k6-operator-double.ts';

// kwok's pod Stages wait 1 s plus up to 5 s of jitter each; no jitter keeps the tests short.
const FAST = {
  'pod-create.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-ready.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-complete.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-delete.stage.kwok.x-k8s.io/jitter-delay': '0s',
};
const annotations = (extra: Record<string, string> = {}) => JSON.stringify({ ...FAST, ...extra });
const SCRIPT = 'export const options = { vus: 8, duration: "5s" }; export default function () {}';

describeKube('runner: k6-operator on a kwok cluster (k6-operator contract double)', () => {
  let cluster: KubeCluster;
  let operator: OperatorDouble;
  let ns: string;
  let kube: KubeTransport;

  beforeAll(async () => {
    cluster = await getKubeCluster();
    operator = getOperatorDouble(cluster);
    // What the k6-operator runner needs, as the chart grants it (README, "Runs in pods").
    ({ ns, kube } = await runnerNamespace(cluster.env, 'testruns', RUNNER_RULES['k6-operator']));
  }, 120_000);

  const launch = async (name: string, meta: Record<string, string>, args: string[] = []) => {
    const d = startInProcess({ kube, args: ['--start-timeout', '30s', ...args] });
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script: SCRIPT, runner: 'k6-operator', runner_annotations: annotations(), ...meta },
        { namespace: ns, name },
      ),
    );
    return { d, res, text: await res.text() };
  };
  const nothingLeft = () =>
    until(async () => (await objectsLeft(cluster.env, ns)).length === 0, 'the cascade');

  test('4 runners pass: 200, every stage seen, the runner pods ran restricted, nothing left', async () => {
    const { d, res, text } = await launch('pass4', { parallelism: '4' });
    try {
      expect(res.status).toBe(200);
      const verdict = d.records.find((r) => r.msg.startsWith('the load test for'));
      expect(verdict).toMatchObject({ verdict: 'passed', reason: 'all 4 runners passed' });
      expect(text.match(/── runner \d \(pod /g)?.length).toBe(4);
      // Each runner's log, read through the API server from kwok, and the four merged.
      expect(text.match(/█ TOTAL RESULTS/g)?.length).toBe(4);
      expect(text).toContain('k6gate: summary of 4 of 4 runners');
      expect(text).not.toContain('log is not available');
      const seen = [...operator.stages.entries()].find(([k]) => k.startsWith(`${ns}/`))?.[1];
      // k6gate reads the runner pods and deletes the TestRun as soon as every runner ended,
      // which (kwok's runner pods do not wait for the starter) may be before the double saw
      // them all running.
      expect(seen?.slice(0, 3)).toEqual(['initialization', 'initialized', 'created']);
      await nothingLeft();
    } finally {
      await d.close();
    }
  }, 90_000);

  test('4 runners, runner 3 crosses its thresholds (exit 99): 400 naming runner 3', async () => {
    const { d, res, text } = await launch('fail3', {
      parallelism: '4',
      runner_annotations: annotations({
        'k6-operator-double.test/fail-runner': '3',
        'k6-operator-double.test/exit-code': '99',
      }),
    });
    try {
      expect(res.status).toBe(400);
      const first = text.split('\n')[0]!;
      expect(first).toMatch(
        /^failed to run: exit status 99 \(runner 3 of 4 \(pod k6gate-[0-9a-f]{16}-3-[a-z0-9]+\): thresholds crossed\)$/,
      );
      // Runner 3's own log says which threshold it crossed; no other runner's crossed one.
      expect(text.split(/── runner \d \(pod /)[3]).toContain("✗ 'p(95)<200' p(95)=512.3ms");
      expect(text.match(/✗ 'p\(95\)<200'/g)?.length).toBe(1);
      await nothingLeft();
    } finally {
      await d.close();
    }
  }, 90_000);

  test('stage error (the initializer fails k6 inspect): 400 with the stage and the initializer exit', async () => {
    // The initializer is a copy of the runner pod: kwok's chaos Stage fails it with exit 107.
    const { d, res, text } = await launch('stage-error', {
      parallelism: '2',
      runner_labels: JSON.stringify({ 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' }),
      runner_annotations: annotations({
        'pod-container-running-failed.stage.kwok.x-k8s.io/exit-code': '107',
        'pod-container-running-failed.stage.kwok.x-k8s.io/delay': '300ms',
      }),
    });
    try {
      expect(res.status).toBe(400);
      const first = text.split('\n')[0]!;
      expect(first).toStartWith(
        'error while waiting for test to start: the k6-operator put the TestRun in stage "error"',
      );
      expect(first).toMatch(/pod k6gate-[0-9a-f]{16}-initializer-[a-z0-9]+ exited 107/);
      await nothingLeft();
    } finally {
      await d.close();
    }
  }, 90_000);

  test('an image that never pulls: 400 after the start deadline with the waiting reason, nothing left', async () => {
    const { d, res, text } = await launch(
      'never-pulls',
      { runner_annotations: annotations({ 'k6gate.test/image-never-pulls': 'true' }) },
      ['--start-timeout', '8s'],
    );
    try {
      expect(res.status).toBe(400);
      expect(text.split('\n')[0]).toMatch(
        /^error while waiting for test to start: timeout \(pod k6gate-[0-9a-f]{16}-initializer-[a-z0-9]+: ImagePullBackOff: Back-off pulling image "grafana\/k6:/,
      );
      await nothingLeft();
    } finally {
      await d.close();
    }
  }, 90_000);

  test('the caller goes away: the TestRun is deleted and the cascade leaves no Job, Pod, Service or ConfigMap', async () => {
    const d = startInProcess({
      kube,
      args: ['--start-timeout', '30s', '--kill-grace-period', '1s', '--reattach-grace', '0s'],
    });
    try {
      const gone = new AbortController();
      const pending = postLaunch(
        d.url,
        flaggerPayload(
          {
            script: SCRIPT,
            runner: 'k6-operator',
            parallelism: '2',
            // Runners that stay running (a long test).
            runner_annotations: annotations({
              'k6-operator-double.test/long-test': 'true',
            }),
          },
          { namespace: ns, name: 'gone' },
        ),
        { signal: gone.signal },
      ).catch((e: Error) => e);
      await waitFor(() => d.records.some((r) => r.msg === 'waiting for the results'), 60_000);
      const during = await objectsLeft(cluster.env, ns);
      for (const kind of ['TestRun', 'Job', 'Pod', 'Service', 'ConfigMap'])
        expect({
          kind,
          present: during.some((o) => o.startsWith(`${kind}/`)),
          during,
        }).toMatchObject({ kind, present: true });
      gone.abort();
      expect(await pending).not.toBeInstanceOf(Response); // the caller left without an answer
      await waitFor(
        () =>
          d.records.some(
            (r) => r.msg === 'stopping the run: deleting its TestRun' && r.reason === 'client-gone',
          ),
        10_000,
      );
      await nothingLeft();
      await waitFor(() => d.daemon.registry.running().length === 0, 30_000);
    } finally {
      await d.close();
    }
  }, 120_000);

  test('two identical requests (same canary, phase, checksum): one TestRun, both answered with its verdict', async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const body = flaggerPayload(
      {
        script: SCRIPT,
        runner: 'k6-operator',
        parallelism: '2',
        runner_annotations: annotations(),
      },
      { namespace: ns, name: 'twice' },
    );
    const runs = () => [...operator.stages.keys()].filter((k) => k.startsWith(`${ns}/`)).length;
    const before = runs();
    const first = postLaunch(d.url, body);
    await waitFor(() => d.records.some((r) => r.msg === 'launched k6'), 30_000);
    const second = postLaunch(d.url, body);
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(
      d.records.filter((r) => r.msg.startsWith('attaching to the run already under way')),
    ).toHaveLength(1);
    expect(runs() - before).toBe(1);
    await nothingLeft();
  }, 90_000);
});
