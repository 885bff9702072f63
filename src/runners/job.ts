// The job runner: one Kubernetes Job per run in the canary's namespace, so a script runs in a
// pod of its own (no service-account token, restricted security context) instead of beside
// k6gate. The script goes in a ConfigMap owned by the Job; env_vars as plain env, secrets as
// secretKeyRef (k6gate never reads them). The run's pod is watched, not polled: running →
// started; terminated → the verdict from k6's exit code (the same table as local runs), or
// OOMKilled / eviction. Whatever ends the run, the Job is deleted with a foreground cascade
// (its pod and the ConfigMap go with it) after its outcome was read.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/clock.ts';
import { TestFailed } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { explainExitCode, type Verdict } from '../k6/exit-codes.ts';
import { buildK6Args, K6_ENV_BY_K6GATE } from '../k6/invocation.ts';
import type { KubeTransport } from '../kube/client.ts';
import { kubeRequest, refusal, watchObjects, type ObjectMeta } from '../kube/objects.ts';
import type {
  CancelReason,
  RunHandle,
  RunResult,
  Runner,
  RunSpec,
  StartOutcome,
} from './runner.ts';

export interface JobRunnerOptions {
  kube: KubeTransport;
  /** The k6 image runner pods use. */
  image: string;
  startTimeoutMs: number;
  /** Hard deadline per run; 0 disables. */
  maxRunMs: number;
  killGraceMs: number;
  logger: Logger;
  clock: Clock;
}

interface ContainerState {
  running?: object;
  terminated?: { exitCode: number; reason?: string; message?: string };
  waiting?: { reason?: string; message?: string };
}
interface Pod {
  metadata: ObjectMeta;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: { name: string; state?: ContainerState }[];
  };
}

const SCRIPT_DIR = '/scripts';
const RUN_LABEL = 'k6gate.io/run-id';

/** @example const runner = createJobRunner({ kube, image: 'grafana/k6:2.1.0', … }); */
export function createJobRunner(opts: JobRunnerOptions): Runner {
  return {
    async start(spec) {
      const name = jobName(spec);
      const jobs = `/apis/batch/v1/namespaces/${spec.namespace}/jobs`;
      const job = await createOrFind(opts.kube, jobs, jobObject(name, spec, opts));
      if (job.attached) {
        opts.logger.info(
          'attaching to the run already under way for this canary, phase and checksum',
          {
            job: `${spec.namespace}/${name}`,
            runId: job.runId,
          },
        );
        return superviseJob(name, job.runId, spec, opts);
      }
      await kubeRequest(opts.kube, 'POST', `/api/v1/namespaces/${spec.namespace}/configmaps`, {
        metadata: {
          name,
          labels: { ...spec.labels, [RUN_LABEL]: spec.runId },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'Job',
              name,
              uid: job.uid,
              blockOwnerDeletion: true,
            },
          ],
        },
        data: { [spec.scriptName]: spec.script },
      });
      return superviseJob(name, spec.runId, spec, opts);
    },
  };
}

function jobObject(name: string, spec: RunSpec, opts: JobRunnerOptions) {
  const labels = { ...spec.labels, [RUN_LABEL]: spec.runId };
  const env = [
    ...Object.entries(spec.envVars).map(([n, value]) => ({ name: n, value })),
    ...spec.secretRefs.map((r) => ({
      name: r.env,
      valueFrom: { secretKeyRef: { name: r.name, key: r.key } },
    })),
    ...Object.entries(K6_ENV_BY_K6GATE).map(([n, value]) => ({ name: n, value })),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels },
    spec: {
      backoffLimit: 0,
      ...(opts.maxRunMs > 0 ? { activeDeadlineSeconds: Math.ceil(opts.maxRunMs / 1000) } : {}),
      template: {
        metadata: {
          labels: { ...spec.podLabels, ...labels },
          annotations: { ...spec.podAnnotations },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 12345,
            runAsGroup: 12345,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'k6',
              image: opts.image,
              args: buildK6Args(`${SCRIPT_DIR}/${spec.scriptName}`, spec.uploadToCloud),
              env,
              workingDir: '/tmp',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'script', mountPath: SCRIPT_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'script', configMap: { name } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

interface Outcome {
  exitCode: number | null;
  verdict: Verdict;
  reason: string;
  pod?: string;
}

// What a pod says about the run: still waiting (and why), running, or ended.
function readPod(pod: Pod): { running: boolean; waiting?: string; ended?: Outcome } {
  const k6 = pod.status?.containerStatuses?.find((c) => c.name === 'k6')?.state;
  const name = pod.metadata.name;
  if (pod.status?.reason === 'Evicted') {
    return {
      running: false,
      ended: {
        exitCode: null,
        verdict: 'error',
        reason: `runner pod ${name} was evicted: ${pod.status.message ?? ''}`.trim(),
        pod: name,
      },
    };
  }
  if (k6?.terminated) {
    const { exitCode, reason } = k6.terminated;
    if (reason === 'OOMKilled') {
      return {
        running: false,
        ended: {
          exitCode,
          verdict: 'error',
          reason: `runner pod ${name}: k6 was OOMKilled (raise its memory limit)`,
          pod: name,
        },
      };
    }
    return { running: false, ended: { exitCode, ...explainExitCode(exitCode), pod: name } };
  }
  if (k6?.running) return { running: true };
  const w = k6?.waiting;
  return {
    running: false,
    ...(w?.reason
      ? { waiting: `pod ${name}: ${w.reason}${w.message ? `: ${w.message}` : ''}` }
      : {}),
  };
}

/** One name per canary, phase, checksum and script: a second request for the same run (Flagger's
 * retry, on this replica or another) finds the Job instead of starting a second one. */
function jobName(spec: RunSpec): string {
  const hash = new Bun.CryptoHasher('sha256');
  for (const k of Object.keys(spec.labels).sort()) hash.update(`${k}=${spec.labels[k]}\n`);
  hash.update(spec.script);
  return `k6gate-${hash.digest('hex').slice(0, 16)}`;
}

type Created = { attached: false; uid: string } | { attached: true; runId: string };

// POST the Job; on 409 (it exists) the run is already under way: attach to it.
async function createOrFind(
  kube: KubeTransport,
  jobs: string,
  job: { metadata: { name: string } },
): Promise<Created> {
  const res = await kube.request('POST', jobs, { body: job });
  if (res.status === 409) {
    const found = await kubeRequest<{ metadata: ObjectMeta }>(
      kube,
      'GET',
      `${jobs}/${job.metadata.name}`,
    );
    const runId = found?.metadata.labels?.[RUN_LABEL];
    if (!runId)
      throw new TestFailed(
        'error while launching test: a Job of the same run exists but cannot be read',
      );
    return { attached: true, runId };
  }
  if (!res.ok) throw await refusal(res, 'POST', jobs);
  const created = (await res.json()) as { metadata: ObjectMeta };
  if (!created.metadata.uid)
    throw new TestFailed('error while launching test: the Job was not created');
  return { attached: false, uid: created.metadata.uid };
}

function superviseJob(
  name: string,
  runLabel: string,
  spec: RunSpec,
  opts: JobRunnerOptions,
): RunHandle {
  const ns = spec.namespace;
  const startedAt = opts.clock.now();
  const logger = opts.logger.child({
    runId: spec.runId,
    canary: spec.canary,
    job: `${ns}/${name}`,
  });
  const watching = new AbortController();
  const started = Promise.withResolvers<StartOutcome>();
  const ended = Promise.withResolvers<Outcome>();
  let stuck: string | undefined;
  let cancelReason: CancelReason | undefined;

  void (async () => {
    const path = `/api/v1/namespaces/${ns}/pods?watch=1&labelSelector=${encodeURIComponent(`${RUN_LABEL}=${runLabel}`)}`;
    try {
      for await (const ev of watchObjects<Pod>(opts.kube, path, watching.signal)) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
        const seen = readPod(ev.object);
        if (seen.waiting) stuck = seen.waiting;
        if (seen.running || seen.ended) started.resolve({ kind: 'started', cloudUrl: undefined });
        if (seen.ended) return ended.resolve(seen.ended);
        if (ev.type === 'DELETED' && cancelReason)
          return ended.resolve({ exitCode: null, verdict: 'aborted', reason: '' });
      }
    } catch (err) {
      if (!watching.signal.aborted) logger.warn('watching the runner pod failed', { err });
    }
  })();
  void sleep(opts.startTimeoutMs, undefined, { signal: watching.signal })
    .then(() => started.resolve({ kind: 'timeout', ...(stuck ? { stuck } : {}) }))
    .catch(() => {});

  function cancel(reason: CancelReason) {
    if (cancelReason !== undefined) return;
    cancelReason = reason;
    logger.info('stopping the run: deleting its Job', { reason });
    void deleteJob(opts.kube, ns, name, logger);
    // A pod that never ran leaves no event to wait for beyond its deletion; bound the wait.
    void sleep(opts.killGraceMs + 10_000, undefined, { signal: watching.signal })
      .then(() => ended.resolve({ exitCode: null, verdict: 'aborted', reason: '' }))
      .catch(() => {});
  }

  const result = (async (): Promise<RunResult> => {
    const outcome = await ended.promise;
    started.resolve({ kind: 'exited' });
    const output = outcome.pod ? await readLog(opts.kube, ns, outcome.pod, logger) : '';
    watching.abort();
    if (!cancelReason) await deleteJob(opts.kube, ns, name, logger);
    const aborted = cancelReason !== undefined;
    return {
      runId: spec.runId,
      exitCode: outcome.exitCode,
      signal: null,
      verdict: aborted ? 'aborted' : outcome.verdict,
      reason: aborted ? `canceled (${cancelReason}); the Job was deleted` : outcome.reason,
      durationMs: opts.clock.now() - startedAt,
      timedOut: cancelReason === 'timeout' || cancelReason === 'start-timeout',
      canceled: aborted,
      cancelReason,
      forceKilled: false,
      thresholds: [],
      output,
      truncated: false,
      outputBytes: Buffer.byteLength(output),
    };
  })();

  return {
    runId: spec.runId,
    startedAt,
    started: started.promise,
    result,
    cancel,
    output: () => '',
  };
}

async function deleteJob(kube: KubeTransport, ns: string, name: string, logger: Logger) {
  try {
    await kubeRequest(kube, 'DELETE', `/apis/batch/v1/namespaces/${ns}/jobs/${name}`, {
      propagationPolicy: 'Foreground',
    });
  } catch (err) {
    logger.error('cannot delete the run Job; it will be left behind', { err });
  }
}

// The runner's output (its end-of-test summary); best effort: a cluster without a log source
// for the pod (a kubelet that cannot be reached) says so instead of failing the verdict.
async function readLog(
  kube: KubeTransport,
  ns: string,
  pod: string,
  logger: Logger,
): Promise<string> {
  try {
    const res = await kube.request(
      'GET',
      `/api/v1/namespaces/${ns}/pods/${pod}/log?container=k6&limitBytes=1048576`,
      {
        signal: AbortSignal.timeout(5000),
      },
    );
    if (res.ok) return await res.text();
    return `(k6gate: the runner's log is not available: HTTP ${res.status} ${(await res.text()).slice(0, 200)})`;
  } catch (err) {
    logger.debug('cannot read the runner log', { err });
    return `(k6gate: the runner's log is not available: ${(err as Error).message})`;
  }
}
