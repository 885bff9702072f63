// runner: job on the kwok cluster (real apiserver, Job controller, garbage collector, scheduler,
// kwok): every object admitted in a namespace that enforces the restricted Pod Security
// Standard; the verdict from the runner pod's exit code (kwok's Stages set it per pod through
// runner_labels / runner_annotations); two identical requests share one run, even through two
// replicas (the cluster is the state store); a caller that goes away deletes the run, and the
// cascade leaves no Job, Pod or ConfigMap.

import { beforeAll, expect, test } from 'bun:test';
import type { KubeTransport } from '../../src/kube/client.ts';
import { join } from 'node:path';
import {
  flaggerPayload,
  K6_DOUBLE,
  postLaunch,
  startInProcess,
  waitFor,
} from '../helpers/daemon.ts';
import { collect } from '../helpers/processes.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { RUNNER_RULES } from '../helpers/runner-rbac.ts';
import {
  getKubeCluster,
  objectsLeft,
  RESTRICTED,
  runnerNamespace,
  sweepAt,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';

const CHAOS = 'pod-container-running-failed.stage.kwok.x-k8s.io';
/** A job run whose pod kwok's chaos Stage ends with `exitCode` about `delay` after creation. */
const jobRun = (o: { exitCode?: string; reason?: string; delay: string }) => ({
  script: 'export default function () {}',
  runner: 'job',
  runner_labels: JSON.stringify({ [CHAOS]: 'true' }),
  runner_annotations: JSON.stringify({
    ...(o.exitCode ? { [`${CHAOS}/exit-code`]: o.exitCode } : {}),
    ...(o.reason ? { [`${CHAOS}/reason`]: o.reason } : {}),
    [`${CHAOS}/delay`]: o.delay,
    // The Stage's jitter bound (1 s unless set) caps the delay: without it every run ended at 1 s.
    [`${CHAOS}/jitter-delay`]: o.delay,
  }),
});
const FAIL_THRESHOLDS = join(import.meta.dir, '../fixtures/scripts/fail-thresholds.js');
const FAIL_99 = jobRun({ exitCode: '99', reason: 'Error', delay: '300ms' });

describeKube('runner: job on a kwok cluster', () => {
  let cluster: KubeCluster;
  let ns: string;
  let kube: KubeTransport;

  beforeAll(async () => {
    cluster = await getKubeCluster();
    // What the job runner needs, as the chart grants it (README, "Runs in pods").
    ({ ns, kube } = await runnerNamespace(cluster.env, 'jobs', RUNNER_RULES.job));
  }, 120_000);

  const left = async () => (await objectsLeft(cluster.env, ns)).length;
  /** The name of the one pod in the namespace (the run's Job's), once it is there. */
  const jobPod = async () => {
    let pod: string | undefined;
    await until(async () => {
      const pods = await cluster.env.admin('GET', `/api/v1/namespaces/${ns}/pods`);
      pod = pods.items[0]?.metadata.name;
      return pod !== undefined;
    }, "the Job's pod");
    return pod as string;
  };

  test('a passing run: 200, the pod ran restricted, and nothing is left', async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script: 'export default function () {}', runner: 'job' },
        { namespace: ns, name: 'pass' },
      ),
    );
    const text = await res.text();
    expect(res.status).toBe(200);
    const verdict = d.records.find((r) => r.msg.startsWith('the load test for'));
    expect(verdict).toMatchObject({ verdict: 'passed', exitCode: 0 });
    expect(text).toContain("(k6gate: the runner's log is not available"); // no kubelet log source here
    await until(async () => (await left()) === 0, 'the cascade');
  }, 60_000);

  test('a run longer than one watch request: the watch is re-opened and the verdict still comes', async () => {
    // The API server ends every watch after its timeout (30–60 min by default; 2 s here): a run
    // that outlives it must still see its pod end.
    await using d = startInProcess({ kube, podWatchSeconds: 2, args: ['--start-timeout', '30s'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload(jobRun({ exitCode: '99', reason: 'Error', delay: '7s' }), {
        namespace: ns,
        name: 'long-watch',
      }),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe(
      'failed to run: exit status 99 (thresholds crossed)',
    );
    await until(async () => (await left()) === 0, 'the cascade');
  }, 60_000);

  test('thresholds crossed in the pod (exit 99): 400 with the reason', async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const res = await postLaunch(d.url, flaggerPayload(FAIL_99, { namespace: ns, name: 'fail' }));
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe(
      'failed to run: exit status 99 (thresholds crossed)',
    );
    await until(async () => (await left()) === 0, 'the cascade');
  }, 60_000);

  test("the runner pod's log, read through the API server from kwok's kubelet: the answer carries k6's summary and the JSON verdict its numbers", async () => {
    // What k6 printed in the pod: the contract double's output for a script crossing a threshold.
    const k6 = Bun.spawn([K6_DOUBLE, 'run', FAIL_THRESHOLDS], { stdout: 'pipe', stderr: 'pipe' });
    const { stdout } = await collect(k6);
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const answer = postLaunch(
      d.url,
      flaggerPayload(jobRun({ exitCode: '99', reason: 'Error', delay: '3s' }), {
        namespace: ns,
        name: 'pod-log',
      }),
      { headers: { 'Content-Type': 'application/json', Accept: 'application/json' } },
    );
    const pod = await jobPod();
    await cluster.servePodLog(ns, pod, stdout);
    const res = await answer;
    expect(res.status).toBe(400);
    const verdict = (await res.json()) as Record<string, any>;
    expect(verdict.message).toBe('failed to run: exit status 99 (thresholds crossed)');
    expect(verdict.outputTail).toContain("✗ 'p(95)<200' p(95)=512.3ms");
    expect(verdict.metrics.http_reqs).toMatchObject({ count: 10 });
    expect(verdict.metrics.http_req_duration).toMatchObject({ 'p(95)': 512.3 });
    await until(async () => (await left()) === 0, 'the cascade');
  }, 60_000);

  test("a running pod run's log is live: the runs API streams what k6 prints in the pod before the verdict", async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const RUNS = 'pod-complete.stage.kwok.x-k8s.io'; // the pod runs 6 s, then succeeds
    const answer = postLaunch(
      d.url,
      flaggerPayload(
        {
          script: 'export default function () {}',
          runner: 'job',
          runner_annotations: JSON.stringify({
            [`${RUNS}/delay`]: '6s',
            [`${RUNS}/jitter-delay`]: '6s',
          }),
        },
        { namespace: ns, name: 'live-log' },
      ),
    ).then((res) => ({ res, at: performance.now() }));
    const pod = await jobPod();
    const log = await cluster.servePodLog(
      ns,
      pod,
      'running (0m01.0s), 1/1 VUs, 7 complete and 0 interrupted iterations',
    );
    await waitFor(() => d.daemon.registry.running().length === 1, 30_000);
    const runId = d.daemon.registry.running()[0]!.runId;
    const stream = await fetch(`${d.url}/api/v1/runs/${runId}/log`, {
      headers: { Accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const readUntil = async (marker: string) => {
      while (!seen.includes(marker)) {
        const next = await reader.read();
        if (next.done) throw new Error(`the log stream ended before ${marker}: ${seen}`);
        seen += decoder.decode(next.value, { stream: true });
      }
      return performance.now();
    };
    const firstLine = await readUntil('7 complete');
    log.append('running (0m02.0s), 1/1 VUs, 14 complete and 0 interrupted iterations');
    const secondLine = await readUntil('14 complete');
    const { res, at } = await answer;
    expect(res.status).toBe(200);
    // Both lines came while the pod ran, before the verdict.
    expect(firstLine).toBeLessThan(at);
    expect(secondLine).toBeLessThan(at);
    await readUntil('event: verdict');
    await reader.cancel();
    await until(async () => (await left()) === 0, 'the cascade');
  }, 60_000);

  test('two identical requests (same canary, phase, checksum) to two replicas: one Job, both answered with its verdict', async () => {
    const d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const e = startInProcess({ kube, args: ['--start-timeout', '30s'] }); // another replica
    try {
      const body = flaggerPayload(jobRun({ exitCode: '0', delay: '10s' }), {
        namespace: ns,
        name: 'twice',
      });
      const first = postLaunch(d.url, body);
      await waitFor(() => d.records.some((r) => r.msg === 'launched k6'), 30_000);
      const second = postLaunch(e.url, body);
      const [a, b] = await Promise.all([first, second]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(
        e.records.some(
          (r) =>
            r.msg === 'attaching to the run already under way for this canary, phase and checksum',
        ),
      ).toBe(true);
      await until(async () => (await left()) === 0, 'the cascade');
    } finally {
      await d.close();
      await e.close();
    }
  }, 90_000);

  test('the caller goes away: the Job is deleted and the cascade leaves nothing', async () => {
    const d = startInProcess({
      kube,
      args: ['--start-timeout', '30s', '--kill-grace-period', '1s', '--reattach-grace', '0s'],
    });
    try {
      const gone = new AbortController();
      // A pod that stays running: kwok's chaos Stage fails it only after a long delay.
      const pending = postLaunch(
        d.url,
        flaggerPayload(jobRun({ delay: '600s' }), { namespace: ns, name: 'gone' }),
        { signal: gone.signal },
      ).catch((e: Error) => e);
      await waitFor(() => d.records.some((r) => r.msg === 'waiting for the results'), 30_000);
      expect((await objectsLeft(cluster.env, ns)).some((o) => o.startsWith('Job/'))).toBe(true);
      gone.abort();
      expect(((await pending) as Error).name).toBe('AbortError');
      await waitFor(
        () =>
          d.records.some(
            (r) => r.msg === 'stopping the run: deleting its Job' && r.reason === 'client-gone',
          ),
        10_000,
      );
      await until(async () => (await left()) === 0, 'the cascade');
      await waitFor(() => d.daemon.registry.running().length === 0, 30_000);
      expect(d.daemon.semaphore.inUse()).toBe(0);
    } finally {
      await d.close();
    }
  }, 90_000);
  test('an image that never pulls: 400 after the start deadline with the waiting reason, nothing left', async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '10s'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        {
          script: 'export default function () {}',
          runner: 'job',
          // kwok's pod-create Stage waits up to 6 s unless its jitter is cut; then the
          // repo's Stage reports ImagePullBackOff well inside the 10 s deadline.
          runner_annotations: JSON.stringify({
            'k6gate.test/image-never-pulls': 'true',
            'pod-create.stage.kwok.x-k8s.io/jitter-delay': '0s',
          }),
        },
        { namespace: ns, name: 'never-pulls' },
      ),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toMatch(
      /^error while waiting for test to start: timeout \(pod k6gate-[0-9a-f]{16}-[a-z0-9]+: ImagePullBackOff: Back-off pulling image "grafana\/k6:/,
    );
    await until(async () => (await left()) === 0, 'the cascade');
  }, 90_000);

  test('k6gate restarts mid-run: the Job goes on, and the retry to a new daemon attaches to it', async () => {
    const body = flaggerPayload(jobRun({ exitCode: '0', delay: '8s' }), {
      namespace: ns,
      name: 'restart',
    });
    const before = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const first = postLaunch(before.url, body);
    await waitFor(() => before.records.some((r) => r.msg === 'waiting for the results'), 30_000);
    await before.close(); // SIGTERM's drain: the waiting caller gets 503, the Job stays
    expect((await first).status).toBe(503);
    expect(
      before.records.some((r) =>
        r.msg.startsWith('k6gate is shutting down: leaving the Job running'),
      ),
    ).toBe(true);
    const jobs = await cluster.env.admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs`);
    expect(jobs.items).toHaveLength(1);

    await using after = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const retry = await postLaunch(after.url, body); // Flagger's retry
    expect(retry.status).toBe(200);
    expect(
      after.records.some((r) => r.msg.startsWith('attaching to the run already under way')),
    ).toBe(true);
    await until(async () => (await left()) === 0, 'the cascade');
  }, 90_000);
  test('the janitor deletes a run no k6gate came back for, once past its deadline, and nothing else', async () => {
    const body = flaggerPayload(jobRun({ delay: '600s' }), { namespace: ns, name: 'orphan' });
    const d = startInProcess({
      kube,
      args: ['--start-timeout', '30s', '--max-run-duration', '10m'],
    });
    const pending = postLaunch(d.url, body);
    await waitFor(() => d.records.some((r) => r.msg === 'waiting for the results'), 30_000);
    await d.close(); // the run is left for a retry that never comes
    expect((await pending).status).toBe(503);
    const [job] = (await cluster.env.admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs`)).items;
    const deadline = Date.parse(job.metadata.annotations['k6gate.io/deadline']);
    expect(deadline - Date.parse(job.metadata.creationTimestamp)).toBeGreaterThan(10 * 60_000);

    const sweep = (now: number) => sweepAt(kube, ns, now);
    expect(await sweep(deadline - 1000)).toBe(0); // not yet
    expect(await sweep(deadline + 1000)).toBe(1);
    await until(async () => (await left()) === 0, 'the cascade');
  }, 90_000);
  test('OOMKilled in the pod: 400 naming it and what to raise', async () => {
    await using d = startInProcess({ kube, args: ['--start-timeout', '30s'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload(jobRun({ exitCode: '137', reason: 'OOMKilled', delay: '300ms' }), {
        namespace: ns,
        name: 'oom',
      }),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toMatch(
      /^failed to run: exit status 137 \(runner pod k6gate-[0-9a-f]{16}-[a-z0-9]+: k6 was OOMKilled \(raise its memory limit\)\)$/,
    );
  }, 60_000);

  test('pod runs have their own slots (--max-concurrent-pod-runs): the second gets 429 with Retry-After; local slots are untouched', async () => {
    const d = startInProcess({
      kube,
      args: [
        '--start-timeout',
        '30s',
        '--max-concurrent-pod-runs',
        '1',
        '--kill-grace-period',
        '1s',
        '--reattach-grace',
        '0s',
      ],
    });
    try {
      const gone = new AbortController();
      const first = postLaunch(
        d.url,
        flaggerPayload(jobRun({ delay: '600s' }), { namespace: ns, name: 'slot-1' }),
        { signal: gone.signal },
      ).catch((e: Error) => e);
      await waitFor(() => d.records.some((r) => r.msg === 'launched k6'), 30_000);
      const second = await postLaunch(
        d.url,
        flaggerPayload(
          { script: 'export default function () {}', runner: 'job' },
          { namespace: ns, name: 'slot-2' },
        ),
      );
      expect(second.status).toBe(429);
      expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(d.daemon.semaphore.inUse()).toBe(0); // local slots untouched
      gone.abort();
      await first;
      await until(async () => (await left()) === 0, 'the cascade');
    } finally {
      await d.close();
    }
  }, 90_000);

  test('no RBAC in the namespace: 400 (not enabled, which Flagger shows) naming the verb, resource, namespace and the chart values that grant it', async () => {
    const bare = await cluster.env.createNamespace('no-rbac', RESTRICTED);
    await using d = startInProcess({ kube });
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script: 'export default function () {}', runner: 'job' },
        { namespace: bare, name: 'x' },
      ),
    );
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain(`k6gate may not create jobs in namespace "${bare}"`);
    expect(text).toContain('chart: runners.enabled [job] and runners.namespaces');
  }, 30_000);
});
