// Stateful rollout hooks with pod runners on the kwok cluster: the state lives on the run object,
// so any replica answers. Flagger's loop (a call every second) gets 202 … 200 from a Job run and
// 202 … 400 from a failing one; the ended Job is kept with its verdict annotation, and another
// replica answers 200 from it without a run of its own; a new checksum on that replica deletes
// the first replica's run; the janitor deletes a kept run past --stateful-ttl; a k6-operator
// TestRun gives the same loop.

import { beforeAll, expect, test } from 'bun:test';
import type { KubeTransport } from '../../src/kube/client.ts';
import { analysisLoop, flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';
import { getOperatorDouble } from '../helpers/k6-operator-double.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import {
  getKubeCluster,
  objectsLeft,
  runnerNamespace,
  sweepAt,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { RUNNER_RULES } from '../helpers/runner-rbac.ts';

const CHAOS = 'pod-container-running-failed.stage.kwok.x-k8s.io';
const FAST = {
  'pod-create.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-ready.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-complete.stage.kwok.x-k8s.io/jitter-delay': '0s',
  'pod-delete.stage.kwok.x-k8s.io/jitter-delay': '0s',
};
/** A stateful hook whose runner pod kwok ends with `exitCode` about `delay` after creation. */
const statefulJob = (exitCode: string, delay: string, extra: Record<string, string> = {}) => ({
  script: 'export default function () {}',
  mode: 'stateful',
  runner: 'job',
  runner_labels: JSON.stringify({ [CHAOS]: 'true' }),
  runner_annotations: JSON.stringify({
    ...FAST,
    [`${CHAOS}/exit-code`]: exitCode,
    [`${CHAOS}/reason`]: exitCode === '0' ? 'Completed' : 'Error',
    [`${CHAOS}/delay`]: delay,
    // The Stage's jitter bound (1 s unless set) caps the delay: without it every run ended at 1 s.
    [`${CHAOS}/jitter-delay`]: delay,
  }),
  ...extra,
});

describeKube('stateful rollout hooks with pod runners on a kwok cluster', () => {
  let cluster: KubeCluster;
  let ns: string;
  let kube: KubeTransport;
  const args = ['--start-timeout', '30s'];

  beforeAll(async () => {
    cluster = await getKubeCluster();
    ({ ns, kube } = await runnerNamespace(cluster.env, 'stateful', [
      ...RUNNER_RULES.job,
      ...RUNNER_RULES['k6-operator'],
    ]));
  }, 120_000);

  /** The Jobs of one canary (stateful runs keep theirs after the verdict). */
  const jobs = async (canary: string) =>
    (
      await cluster.env.admin(
        'GET',
        `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=${encodeURIComponent(`k6gate.io/canary-name=${canary}`)}`,
      )
    ).items as { metadata: { name: string; annotations?: Record<string, string> } }[];

  test('job: 202 … 200; the Job keeps the verdict; another replica answers 200 from it; the janitor removes it after the TTL', async () => {
    const a = startInProcess({ kube, args: [...args, '--stateful-ttl', '1h'] });
    const b = startInProcess({ kube, args });
    try {
      const body = {
        ...flaggerPayload(statefulJob('0', '4s'), { namespace: ns, name: 'web' }),
        type: 'rollout',
      };
      const answers = await analysisLoop(a.url, body);
      expect(answers[0]!.status).toBe(202);
      expect(answers[0]!.first).toStartWith('started: run ');
      expect(answers.slice(1, -1).every((x) => /^running for \d+s$/.test(x.first))).toBe(true);
      expect(answers.at(-1)!.status).toBe(200);
      expect(answers.length).toBeGreaterThanOrEqual(3);

      const [job] = await jobs('web');
      expect(JSON.parse(job!.metadata.annotations!['k6gate.io/verdict']!)).toMatchObject({
        verdict: 'passed',
        exitCode: 0,
      });
      const other = await postLaunch(b.url, body); // another replica, no state of its own
      expect(other.status).toBe(200);
      expect(await other.text()).toContain('the verdict recorded on Job');
      expect((await jobs('web')).length).toBe(1); // no run of its own
      // Reported once, by the replica that watched the run: no verdict log (nor Slack) here.
      expect(b.records.some((r) => r.msg.startsWith('the load test for web.'))).toBe(false);
      expect(a.records.some((r) => r.msg.startsWith('the load test for web.'))).toBe(true);
      expect(b.records.find((r) => r.msg.startsWith('attaching to the run'))).toMatchObject({
        verdict: 'passed',
      });

      const deadline = Date.parse(job!.metadata.annotations!['k6gate.io/deadline']!);
      expect(deadline - Date.now()).toBeGreaterThan(50 * 60_000); // verdict + 1h
      const sweep = (now: number) => sweepAt(kube, ns, now);
      expect(await sweep(deadline - 1000)).toBe(0);
      expect(await sweep(deadline + 1000)).toBe(1);
      await until(async () => (await objectsLeft(cluster.env, ns)).length === 0, 'the cascade');
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);

  test('job: a failing test ends the loop with 400 and the reason', async () => {
    await using d = startInProcess({ kube, args });
    const body = {
      ...flaggerPayload(statefulJob('99', '3s'), { namespace: ns, name: 'fails' }),
      type: 'rollout',
    };
    const answers = await analysisLoop(d.url, body);
    expect(answers[0]!.status).toBe(202);
    expect(answers.at(-1)).toMatchObject({
      status: 400,
      first: 'failed to run: exit status 99 (thresholds crossed)',
    });
    const again = await postLaunch(d.url, body);
    expect(again.status).toBe(400);
  }, 120_000);

  test("job: a new checksum on another replica deletes the old revision's run", async () => {
    const a = startInProcess({ kube, args });
    const b = startInProcess({ kube, args });
    try {
      const meta = statefulJob('0', '600s');
      const old = { ...flaggerPayload(meta, { namespace: ns, name: 'rev' }), checksum: 'rev-1' };
      expect((await postLaunch(a.url, old)).status).toBe(202);
      const [oldJob] = await jobs('rev');
      expect(oldJob).toBeDefined();
      const next = { ...old, checksum: 'rev-2' };
      expect((await postLaunch(b.url, next)).status).toBe(202);
      await until(
        async () => !(await jobs('rev')).some((j) => j.metadata.name === oldJob!.metadata.name),
        "the old revision's Job deleted",
      );
      expect(
        b.records.some(
          (r) => r.msg === 'a new revision of the canary: deleting the run of the old one',
        ),
      ).toBe(true);
    } finally {
      await a.close();
      await b.close();
      for (const j of [...(await jobs('rev')), ...(await jobs('fails'))]) {
        await cluster.env.admin(
          'DELETE',
          `/apis/batch/v1/namespaces/${ns}/jobs/${j.metadata.name}?propagationPolicy=Foreground`,
        );
      }
    }
  }, 120_000);

  test('job compared with its primary: two Jobs side by side, neither supersedes the other', async () => {
    await using d = startInProcess({ kube, args: [...args, '--stateful-ttl', '1h'] });
    const body = {
      ...flaggerPayload(
        statefulJob('0', '4s', {
          compare: 'http_req_duration.p(95) <= 1.1 * baseline',
          baseline: 'primary',
          baseline_env_vars: JSON.stringify({ TARGET: 'http://cmp-primary.svc:9898' }),
        }),
        { namespace: ns, name: 'cmp' },
      ),
      type: 'rollout',
    };
    const answers = await analysisLoop(d.url, body);
    expect(answers[0]!.status).toBe(202);
    const both = await jobs('cmp');
    expect(both).toHaveLength(2); // the canary's and the primary's, both kept
    const roles = both.map(
      (j) =>
        (j.metadata as { labels?: Record<string, string> }).labels?.['k6gate.io/role'] ?? 'canary',
    );
    expect(roles.sort()).toEqual(['baseline', 'canary']);
    // kwok's pods have no logs here: no summary on either side, so the rules are not judged and
    // the absolute verdict (exit 0) decides — said in the answer.
    expect(answers.at(-1)!.status).toBe(200);
    expect(answers.at(-1)!.text).toContain('not compared');
    expect(
      d.records.some(
        (r) => r.msg === 'a new revision of the canary: deleting the run of the old one',
      ),
    ).toBe(false);
    for (const j of both) {
      await cluster.env.admin(
        'DELETE',
        `/apis/batch/v1/namespaces/${ns}/jobs/${j.metadata.name}?propagationPolicy=Foreground`,
      );
    }
  }, 120_000);

  test('k6-operator: 202 … 200 over 2 runners, the TestRun keeps the verdict', async () => {
    getOperatorDouble(cluster);
    await using d = startInProcess({ kube, args });
    const body = {
      ...flaggerPayload(
        {
          script:
            'export const options = { vus: 4, duration: "5s" }; export default function () {}',
          mode: 'stateful',
          runner: 'k6-operator',
          parallelism: '2',
          runner_annotations: JSON.stringify(FAST),
        },
        { namespace: ns, name: 'big' },
      ),
      type: 'rollout',
    };
    const answers = await analysisLoop(d.url, body);
    expect(answers[0]!.status).toBe(202);
    expect(answers.at(-1)!.status).toBe(200);
    const list = await cluster.env.admin('GET', `/apis/k6.io/v1alpha1/namespaces/${ns}/testruns`);
    const verdict = list.items[0].metadata.annotations['k6gate.io/verdict'];
    expect(JSON.parse(verdict)).toMatchObject({
      verdict: 'passed',
      reason: 'all 2 runners passed',
    });
    await cluster.env.admin(
      'DELETE',
      `/apis/k6.io/v1alpha1/namespaces/${ns}/testruns/${list.items[0].metadata.name}?propagationPolicy=Foreground`,
    );
  }, 120_000);
});
