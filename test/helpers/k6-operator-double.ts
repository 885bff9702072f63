// A k6-operator contract double: a small controller that acts on TestRuns in the test cluster as
// grafana/k6-operator v1.6.0 does (written from its documented behaviour, not its code): the
// stages initialization → initialized → created → started → stopped → finished (forward only),
// `error` for a failed initializer; an initializer Job `<name>-initializer` (a copy of the
// runner pod); runner Jobs `<name>-<i>` (i from 1) labelled app=k6, k6_cr=<name>, runner=true,
// backoffLimit 0, restartPolicy Never, container `k6` with the execution segment of runner i;
// Services `<name>-service-<i>`; a starter Job once every runner pod runs; every object owned by
// the TestRun (deleting it cascades). No verdict: stage `finished` whether runners passed or not.
// kwok runs the pods. The real operator cannot be built here (its Go module links k6, AGPL).
//
// Two test-only hooks stand in for what k6 itself does in the runners (the initializer, a copy of
// the runner pod, is not affected): runner annotations `k6-operator-double.test/fail-runner:
// "<i>"` and `…/exit-code: "<n>"` put kwok's chaos Stage (which ends a running container with
// that exit code) on runner i's pod only; `…/long-test: "true"` keeps every runner running for
// ten minutes (kwok's pod-complete Stage delayed). Otherwise a runner runs for RUNNER_RUN (kwok's
// Stages delayed, jitter included: a test's `jitter-delay: 0s` would end it at once), long enough for its log to be served first: what k6 printed in runner i is the
// k6 contract double's output for the TestRun's script (`--quiet`, as the operator runs it;
// `mode=fail-thresholds` for the failing runner), served by kwok as the pod's log
// (KubeCluster.servePodLog), so k6gate reads it through the API server as from a kubelet.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K6_DOUBLE } from './daemon.ts';
import { isConflict, type KubeEnv } from './kube-apiserver.ts';
import type { KubeCluster } from './kube-cluster.ts';
import { collect } from './processes.ts';

const FAIL_RUNNER = 'k6-operator-double.test/fail-runner';
const FAIL_CODE = 'k6-operator-double.test/exit-code';
const LONG_TEST = 'k6-operator-double.test/long-test';
const COMPLETE = 'pod-complete.stage.kwok.x-k8s.io';
const CHAOS = 'pod-container-running-failed.stage.kwok.x-k8s.io';
/** How long a runner's container runs (kwok's Stage delays): its log is served before it ends. */
const RUNNER_RUN = '2s';

interface PodSpecish {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  image?: string;
  env?: unknown[];
  resources?: unknown;
  securityContext?: unknown;
  containerSecurityContext?: unknown;
  automountServiceAccountToken?: string;
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  volumes?: unknown[];
  volumeMounts?: unknown[];
}
interface TestRun {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    deletionTimestamp?: string;
    resourceVersion: string;
  };
  spec: {
    parallelism: number;
    separate?: boolean;
    script: { configMap: { name: string; file?: string } };
    runner?: PodSpecish;
    starter?: PodSpecish;
    initializer?: PodSpecish;
  };
  status?: { stage?: string; conditions?: unknown[] };
}

export interface OperatorDouble {
  /** Every stage each TestRun went through, by `namespace/name`. */
  stages: Map<string, string[]>;
  stop(): Promise<void>;
}

let shared: OperatorDouble | undefined;
/** The run's double, started on first use and stopped by the preload after all tests. */
export function getOperatorDouble(
  cluster: KubeCluster,
  opts: { runnerLogs?: boolean } = {},
): OperatorDouble {
  shared ??= startOperatorDouble(cluster, opts.runnerLogs ?? true);
  return shared;
}
export async function stopOperatorDouble() {
  await shared?.stop();
  shared = undefined;
}

/** Starts the double's reconcile loop (every 250 ms, as the admin). */
/** Starts the double; `runnerLogs` off (bench/pods.ts), runners end at once and have no log. */
function startOperatorDouble(cluster: KubeCluster, runnerLogs: boolean): OperatorDouble {
  const env = cluster.env;
  const stages = new Map<string, string[]>();
  const logs = runnerLogs ? createRunnerLogs(cluster) : undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const list = await env.admin('GET', '/apis/k6.io/v1alpha1/testruns');
        for (const tr of list.items as TestRun[]) {
          if (!tr.metadata.deletionTimestamp) await reconcile(env, tr, stages, logs);
        }
      } catch (err) {
        if (running) console.error('k6-operator double:', (err as Error).message);
      }
      await Bun.sleep(250);
    }
  })();
  return {
    stages,
    async stop() {
      running = false;
      await loop;
      logs?.remove();
    },
  };
}

async function reconcile(
  env: KubeEnv,
  tr: TestRun,
  stages: Map<string, string[]>,
  logs: RunnerLogs | undefined,
) {
  const { name, namespace: ns } = tr.metadata;
  const stage = tr.status?.stage ?? '';
  if (logs && stage !== 'created' && stage !== 'started') logs.prepare(tr); // made meanwhile
  if (logs && (stage === 'created' || stage === 'started')) await logs.serve(tr);
  const next = await step(env, tr, stage, logs !== undefined);
  if (!next || next === stage) return;
  const status = { ...tr.status, stage: next, conditions: conditions(tr, next) };
  await env.admin('PUT', `/apis/k6.io/v1alpha1/namespaces/${ns}/testruns/${name}/status`, {
    ...tr,
    status,
  });
  const key = `${ns}/${name}`;
  stages.set(key, [...(stages.get(key) ?? []), next]);
}

// One forward step of the stage machine; undefined while waiting.
async function step(
  env: KubeEnv,
  tr: TestRun,
  stage: string,
  withLogs: boolean,
): Promise<string | undefined> {
  const { name, namespace: ns } = tr.metadata;
  const pods = (sel: string) =>
    env
      .admin('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(sel)}`)
      .then((l) => l.items as { status?: { phase?: string } }[]);
  switch (stage) {
    case '':
      await create(env, ns, 'jobs', initializerJob(tr));
      return 'initialization';
    case 'initialization': {
      const [pod] = await pods(`app=k6,k6_cr=${name},job-name=${name}-initializer`);
      if (pod?.status?.phase === 'Failed') return 'error';
      return pod?.status?.phase === 'Succeeded' ? 'initialized' : undefined;
    }
    case 'initialized':
      for (let i = 1; i <= tr.spec.parallelism; i++) {
        await create(env, ns, 'jobs', runnerJob(tr, i, withLogs));
        await create(env, ns, 'services', runnerService(tr, i));
      }
      return 'created';
    case 'created': {
      const runners = await pods(`app=k6,k6_cr=${name},runner=true`);
      const up = runners.filter((p) =>
        ['Running', 'Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
      );
      if (up.length < tr.spec.parallelism) return undefined;
      await create(env, ns, 'jobs', starterJob(tr));
      return 'started';
    }
    case 'started': {
      const jobs = await env.admin(
        'GET',
        `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=${encodeURIComponent(`app=k6,k6_cr=${name},runner=true`)}`,
      );
      const done = (
        jobs.items as { status?: { active?: number; succeeded?: number; failed?: number } }[]
      ).filter(
        (j) => !j.status?.active && (j.status?.succeeded ?? 0) + (j.status?.failed ?? 0) > 0,
      );
      return done.length >= tr.spec.parallelism ? 'stopped' : undefined;
    }
    case 'stopped':
      return 'finished';
    default:
      return undefined;
  }
}

function conditions(tr: TestRun, stage: string) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const running =
    stage === 'started' ? 'True' : ['stopped', 'finished'].includes(stage) ? 'False' : 'Unknown';
  const reason = {
    True: 'TestRunRunningTrue',
    False: 'TestRunRunningFalse',
    Unknown: 'TestRunPreparation',
  }[running];
  return [
    { type: 'TestRunRunning', status: running, reason, message: '', lastTransitionTime: now },
    {
      type: 'CloudTestRun',
      status: 'False',
      reason: 'CloudTestRunFalse',
      message: '',
      lastTransitionTime: now,
    },
  ];
}

async function create(env: KubeEnv, ns: string, what: 'jobs' | 'services', obj: object) {
  const path =
    what === 'jobs' ? `/apis/batch/v1/namespaces/${ns}/jobs` : `/api/v1/namespaces/${ns}/services`;
  try {
    await env.admin('POST', path, obj);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

function owner(tr: TestRun) {
  return [
    {
      apiVersion: 'k6.io/v1alpha1',
      kind: 'TestRun',
      name: tr.metadata.name,
      uid: tr.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

// A Job of one pod built from a TestRun Pod spec, as the operator's jobs package does.
function job(
  tr: TestRun,
  jobName: string,
  pod: PodSpecish,
  labels: Record<string, string>,
  container: { name?: string; command: string[]; ports?: unknown[] },
  extra: {
    hostname?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName, labels, ownerReferences: owner(tr) },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: {
          labels: { ...pod.metadata?.labels, ...labels, ...extra.labels },
          annotations: { ...pod.metadata?.annotations, ...extra.annotations },
        },
        spec: {
          restartPolicy: 'Never',
          ...(extra.hostname ? { hostname: extra.hostname } : {}),
          automountServiceAccountToken: pod.automountServiceAccountToken !== 'false',
          ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
          ...(pod.securityContext ? { securityContext: pod.securityContext } : {}),
          ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
          ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
          ...(tr.spec.separate && labels.runner === 'true' ? { affinity: antiAffinity(tr) } : {}),
          containers: [
            {
              name: container.name ?? 'k6',
              image: pod.image ?? 'grafana/k6:latest',
              command: container.command,
              env: pod.env ?? [],
              ...(pod.resources ? { resources: pod.resources } : {}),
              ...(pod.containerSecurityContext
                ? { securityContext: pod.containerSecurityContext }
                : {}),
              ...(container.ports ? { ports: container.ports } : {}),
              volumeMounts: [
                { name: 'k6-test-volume', mountPath: '/test' },
                ...(pod.volumeMounts ?? []),
              ],
            },
          ],
          volumes: [
            { name: 'k6-test-volume', configMap: { name: tr.spec.script.configMap.name } },
            ...(pod.volumes ?? []),
          ],
        },
      },
    },
  };
}

function antiAffinity(tr: TestRun) {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: { matchLabels: { app: 'k6', k6_cr: tr.metadata.name, runner: 'true' } },
          topologyKey: 'kubernetes.io/hostname',
        },
      ],
    },
  };
}

function scriptPath(tr: TestRun) {
  return `/test/${tr.spec.script.configMap.file ?? 'test.js'}`;
}

function initializerJob(tr: TestRun) {
  const name = tr.metadata.name;
  const pod = tr.spec.initializer ?? tr.spec.runner ?? {};
  const archive = `/tmp/${tr.spec.script.configMap.file ?? 'test.js'}.archived.tar`;
  return job(
    tr,
    `${name}-initializer`,
    pod,
    { app: 'k6', k6_cr: name },
    {
      command: [
        'sh',
        '-c',
        `k6 archive ${scriptPath(tr)} -O ${archive} && k6 inspect --execution-requirements ${archive}`,
      ],
    },
  );
}

function runnerJob(tr: TestRun, i: number, withLogs: boolean) {
  const name = tr.metadata.name;
  const n = tr.spec.parallelism;
  const pod = tr.spec.runner ?? {};
  const segments =
    n > 1
      ? [
          `--execution-segment=${i - 1}/${n}:${i}/${n}`,
          `--execution-segment-sequence=${Array.from({ length: n + 1 }, (_, k) => (k === 0 ? '0' : k === n ? '1' : `${k}/${n}`)).join(',')}`,
        ]
      : [];
  const annotations = pod.metadata?.annotations ?? {};
  const failing = annotations[FAIL_RUNNER] === String(i);
  const long: Record<string, string> =
    annotations[LONG_TEST] === 'true'
      ? { [`${COMPLETE}/delay`]: '600s', [`${COMPLETE}/jitter-delay`]: '600s' }
      : withLogs
        ? { [`${COMPLETE}/delay`]: RUNNER_RUN, [`${COMPLETE}/jitter-delay`]: RUNNER_RUN }
        : {};
  return job(
    tr,
    `${name}-${i}`,
    pod,
    { app: 'k6', k6_cr: name, runner: 'true' },
    {
      command: [
        'k6',
        'run',
        '--quiet',
        ...segments,
        scriptPath(tr),
        '--address=0.0.0.0:6565',
        '--paused',
        '--tag',
        `instance_id=${i}`,
        '--tag',
        `testrun_name=${name}`,
      ],
      ports: [{ containerPort: 6565 }],
    },
    {
      hostname: `${name}-${i}`,
      annotations: long,
      ...(failing
        ? {
            labels: { [CHAOS]: 'true' },
            annotations: {
              ...long,
              [`${CHAOS}/exit-code`]: annotations[FAIL_CODE] ?? '99',
              [`${CHAOS}/reason`]: 'Error',
              [`${CHAOS}/delay`]: withLogs ? RUNNER_RUN : '300ms',
              ...(withLogs ? { [`${CHAOS}/jitter-delay`]: RUNNER_RUN } : {}),
            },
          }
        : {}),
    },
  );
}

function runnerService(tr: TestRun, i: number) {
  const name = tr.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: `${name}-service-${i}`,
      labels: { app: 'k6', k6_cr: name, runner: 'true' },
      ownerReferences: owner(tr),
    },
    spec: {
      selector: { 'job-name': `${name}-${i}` },
      ports: [{ name: 'http-api', port: 6565, targetPort: 6565 }],
    },
  };
}

function starterJob(tr: TestRun) {
  const name = tr.metadata.name;
  const pod = { image: 'ghcr.io/grafana/k6-operator:latest-starter', ...tr.spec.starter };
  const body = '{"data":{"attributes":{"paused":false},"id":"default","type":"status"}}';
  const curls = Array.from(
    { length: tr.spec.parallelism },
    (_, k) =>
      `curl --retry 3 -X PATCH -H 'Content-Type: application/json' http://${name}-service-${k + 1}:6565/v1/status -d '${body}'`,
  );
  return job(
    tr,
    `${name}-starter`,
    pod,
    { app: 'k6', k6_cr: name },
    {
      name: 'k6-curl',
      command: ['sh', '-c', curls.join(' && ')],
    },
  );
}

interface RunnerLogs {
  /** Starts making every runner's output of `tr` (a runner's pod may end soon after it starts). */
  prepare(tr: TestRun): void;
  /** Serves the log of each runner pod of `tr` that has none yet. */
  serve(tr: TestRun): Promise<void>;
  remove(): void;
}

// Each runner's output, made once per runner (the contract double on the TestRun's script), and
// served as the log of the pod that runner's Job made.
function createRunnerLogs(cluster: KubeCluster): RunnerLogs {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-operator-double-'));
  const served = new Set<string>();
  const outputs = new Map<string, Promise<string>>();
  const output = (tr: TestRun, i: number) => {
    const key = `${tr.metadata.uid}/${i}`;
    let text = outputs.get(key);
    if (!text) {
      text = runnerOutput(cluster.env, tr, i, dir);
      outputs.set(key, text);
      // k6gate makes the script's ConfigMap after the TestRun (the TestRun owns it): a pass that
      // comes first finds none, and the next tries again, as a kubelet waits for a volume's.
      text.catch(() => outputs.delete(key));
    }
    return text;
  };
  return {
    prepare(tr) {
      for (let i = 1; i <= tr.spec.parallelism; i++) void output(tr, i).catch(() => {});
    },
    async serve(tr) {
      const { name, namespace: ns } = tr.metadata;
      const sel = encodeURIComponent(`app=k6,k6_cr=${name},runner=true`);
      const pods = await cluster.env.admin(
        'GET',
        `/api/v1/namespaces/${ns}/pods?labelSelector=${sel}`,
      );
      for (const pod of pods.items as {
        metadata: { name: string; labels: Record<string, string> };
      }[]) {
        const i = Number(pod.metadata.labels['job-name']?.slice(name.length + 1));
        const key = `${ns}/${pod.metadata.name}`;
        if (served.has(key) || !(i >= 1)) continue;
        await cluster.servePodLog(ns, pod.metadata.name, await output(tr, i));
        served.add(key); // not before: a runner whose output failed is served on a later pass
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// What k6 prints in runner i: the contract double run on the TestRun's script (from its
// ConfigMap), quiet and at once; the failing runner crosses its thresholds.
async function runnerOutput(env: KubeEnv, tr: TestRun, i: number, dir: string): Promise<string> {
  const { name, namespace: ns } = tr.metadata;
  const cm = await env.admin(
    'GET',
    `/api/v1/namespaces/${ns}/configmaps/${tr.spec.script.configMap.name}`,
  );
  const file = tr.spec.script.configMap.file ?? 'test.js';
  const script = join(dir, `${ns}.${name}.${i}.js`);
  writeFileSync(script, String(cm.data?.[file] ?? ''));
  const failing = tr.spec.runner?.metadata?.annotations?.[FAIL_RUNNER] === String(i);
  const k6 = Bun.spawn([K6_DOUBLE, 'run', '--quiet', script], {
    env: {
      PATH: process.env.PATH ?? '',
      K6_DOUBLE_DURATION: '0s',
      ...(failing ? { K6_DOUBLE_MODE: 'fail-thresholds' } : {}),
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const { stdout, stderr } = await collect(k6);
  return stdout + stderr;
}
