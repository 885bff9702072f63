// What every pod runner (job, k6-operator) shares about the objects it makes and the pods it
// reads: the restricted security contexts, a runner container's env (env_vars as plain env,
// secrets by reference, k6gate's own k6 settings), the run's deterministic name, the script
// ConfigMap owned by the run object, create-or-attach on 409, reading a k6 container's state,
// the foreground delete and the runner's log.

import { TestFailed } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { explainExitCode, type Verdict } from '../k6/exit-codes.ts';
import { K6_ENV_BY_K6GATE, outputEnv } from '../k6/invocation.ts';
import type { KubeTransport } from '../kube/client.ts';
import { kubeRequest, refusal, type ObjectMeta } from '../kube/objects.ts';
import type { RunnerResources } from '../flagger/pod-options.ts';
import type { RunSpec } from './runner.ts';

const RUN_LABEL = 'k6gate.io/run-id';

/** What every pod runner (job, k6-operator) is built with. */
export interface PodRunnerOptions {
  kube: KubeTransport;
  /** The k6 image runner pods use unless the request picks an allowed one. */
  image: string;
  /** The runner pods' service account ('' for the namespace's default); its token is never mounted. */
  serviceAccount: string;
  /** Resources of runner pods when a request names none (--runner-resources). */
  runnerResources: RunnerResources | undefined;
  startTimeoutMs: number;
  /** Namespaces where runs were made, for the janitor. */
  usedNamespaces: Set<string>;
  /** Hard deadline per run; 0 disables. */
  maxRunMs: number;
  killGraceMs: number;
  /** Seconds one watch request of a run's pods lasts before it is re-opened (tests shorten it). */
  watchSeconds?: number;
  logger: Logger;
  clock: Clock;
}
export const DEADLINE_ANNOTATION = 'k6gate.io/deadline';

/** The metadata of a run object: the run's labels, and the deadline past which the janitor may
 * delete it (none when --max-run-duration is 0). */
export function runObjectMeta(
  name: string,
  spec: RunSpec,
  opts: { startTimeoutMs: number; maxRunMs: number; clock: { now(): number } },
) {
  const deadline = opts.clock.now() + opts.startTimeoutMs + opts.maxRunMs;
  return {
    name,
    labels: runObjectLabels(spec),
    ...(opts.maxRunMs > 0
      ? { annotations: { [DEADLINE_ANNOTATION]: new Date(deadline).toISOString() } }
      : {}),
  };
}

/** The labels every object and pod of a run carries: the canary's, and the run id. */
function runObjectLabels(spec: Pick<RunSpec, 'labels' | 'runId'>) {
  return { ...spec.labels, [RUN_LABEL]: spec.runId };
}

/** A runner pod's metadata: the request's labels and annotations, the run's labels over them. */
export function runnerPodMetadata(spec: RunSpec) {
  return {
    labels: { ...spec.pod.labels, ...runObjectLabels(spec) },
    annotations: { ...spec.pod.annotations },
  };
}

/** Where runner pods may go: the request's node selector and tolerations, when it has them. */
export function placementOf(pod: RunSpec['pod']) {
  return {
    ...(Object.keys(pod.nodeSelector).length ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.tolerations.length ? { tolerations: pod.tolerations } : {}),
  };
}

/** The restricted Pod Security Standard, for every pod k6gate asks for. */
export const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 12345,
  runAsGroup: 12345,
  seccompProfile: { type: 'RuntimeDefault' },
} as const;
export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
} as const;

interface ContainerState {
  running?: object;
  terminated?: { exitCode: number; reason?: string; message?: string };
  waiting?: { reason?: string; message?: string };
}
export interface Pod {
  metadata: ObjectMeta;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: { name: string; state?: ContainerState }[];
  };
}

/** How one runner pod ended. */
export interface PodOutcome {
  exitCode: number | null;
  verdict: Verdict;
  reason: string;
  pod: string;
}

/** A runner container's env: the caller's env_vars, secrets by reference (k6gate never reads
 * them for pod runs), then what k6gate sets for every k6 (last, so nothing overrides it). */
export function runnerEnv(spec: RunSpec) {
  return [
    ...Object.entries(spec.envVars).map(([name, value]) => ({ name, value })),
    ...spec.secretRefs.map((r) => ({
      name: r.env,
      valueFrom: { secretKeyRef: { name: r.name, key: r.key } },
    })),
    ...Object.entries({ ...K6_ENV_BY_K6GATE, ...outputEnv(spec) }).map(([name, value]) => ({
      name,
      value,
    })),
  ];
}

/** A container's `resources`, when any are set. */
export function resourcesOf(resources: RunnerResources | undefined) {
  return resources ? { resources } : {};
}

/** One name per canary, phase, checksum and script: a second request for the same run (Flagger's
 * retry, on this replica or another, or after a restart) finds it instead of starting another. */
export function runObjectName(spec: Pick<RunSpec, 'labels' | 'script' | 'bundle'>): string {
  const hash = new Bun.CryptoHasher('sha256');
  for (const k of Object.keys(spec.labels).sort()) hash.update(`${k}=${spec.labels[k]}\n`);
  const b = spec.bundle;
  hash.update(b ? `configmap ${b.configMap}/${b.entry} ${b.digest}` : spec.script);
  return `k6gate-${hash.digest('hex').slice(0, 16)}`;
}

export type Created =
  { attached: false; uid: string } | { attached: true; runId: string; meta: ObjectMeta };

/** POSTs the run object; on 409 (it exists) the run is already under way: attach to it. */
export async function createOrAttach(
  kube: KubeTransport,
  collection: string,
  object: { kind: string; metadata: { name: string } },
): Promise<Created> {
  const res = await kube.request('POST', collection, { body: object });
  if (res.status === 409) {
    const path = `${collection}/${object.metadata.name}`;
    const found = await kubeRequest<{ metadata: ObjectMeta }>(kube, 'GET', path);
    const runId = found?.metadata.labels?.[RUN_LABEL];
    if (!runId) {
      throw new TestFailed(
        `error while launching test: a ${object.kind} of the same run exists but cannot be read`,
      );
    }
    return { attached: true, runId, meta: found.metadata };
  }
  if (!res.ok) throw await refusal(res, 'POST', collection);
  const created = (await res.json()) as { metadata: ObjectMeta };
  if (!created.metadata.uid) {
    throw new TestFailed(`error while launching test: the ${object.kind} was not created`);
  }
  return { attached: false, uid: created.metadata.uid };
}

/** Where runner pods find the test: the ConfigMap to mount and the key k6 runs. An inline script
 * (or files from outside the cluster, `k6gate run archive.tar`) gets a ConfigMap of the run's
 * own, named as the run object; a script_configmap is mounted by reference. */
export function scriptMount(spec: RunSpec, runName: string): { configMap: string; file: string } {
  const b = spec.bundle;
  if (b?.inCluster) return { configMap: b.configMap, file: b.entry };
  return { configMap: runName, file: b ? b.entry : spec.scriptName };
}

/** The run's own script ConfigMap (the inline script, or a bundle's files as binaryData), owned
 * by the run object so the garbage collector deletes it with it. */
export async function createScriptConfigMap(
  kube: KubeTransport,
  spec: RunSpec,
  name: string,
  owner: { apiVersion: string; kind: string; uid: string },
) {
  await kubeRequest(kube, 'POST', `/api/v1/namespaces/${spec.namespace}/configmaps`, {
    metadata: {
      name,
      labels: runObjectLabels(spec),
      ownerReferences: [{ ...owner, name, blockOwnerDeletion: true }],
    },
    ...(spec.bundle
      ? { binaryData: base64Files(spec.bundle.files) }
      : { data: { [spec.scriptName]: spec.script } }),
  });
}

function base64Files(files: Readonly<Record<string, Uint8Array>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
}

/** What a pod says about its k6 container: still waiting (and why), running, or ended. */
export function readPod(pod: Pod): { running: boolean; waiting?: string; ended?: PodOutcome } {
  const k6 = pod.status?.containerStatuses?.find((c) => c.name === 'k6')?.state;
  const name = pod.metadata.name;
  if (pod.status?.reason === 'Evicted') {
    const why = `runner pod ${name} was evicted: ${pod.status.message ?? ''}`.trim();
    return { running: false, ended: { exitCode: null, verdict: 'error', reason: why, pod: name } };
  }
  if (k6?.terminated) {
    const { exitCode, reason } = k6.terminated;
    if (reason === 'OOMKilled') {
      const why = `runner pod ${name}: k6 was OOMKilled (raise its memory limit)`;
      return { running: false, ended: { exitCode, verdict: 'error', reason: why, pod: name } };
    }
    return { running: false, ended: { exitCode, ...explainExitCode(exitCode), pod: name } };
  }
  if (k6?.running) return { running: true };
  const w = k6?.waiting;
  if (!w?.reason) return { running: false };
  return {
    running: false,
    waiting: `pod ${name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`,
  };
}

/** Deletes a run object with a foreground cascade (its pods, services and ConfigMap go too). */
export async function deleteRunObject(kube: KubeTransport, path: string, logger: Logger) {
  try {
    await kubeRequest(kube, 'DELETE', path, { propagationPolicy: 'Foreground' });
  } catch (err) {
    logger.error('cannot delete the run; it will be left behind', { err, path });
  }
}

/** A runner's output (its end-of-test summary); best effort: a cluster without a log source for
 * the pod (a kubelet that cannot be reached) says so instead of failing the verdict. */
export async function readLog(
  kube: KubeTransport,
  ns: string,
  pod: string,
  logger: Logger,
): Promise<string> {
  const path = `/api/v1/namespaces/${ns}/pods/${pod}/log?container=k6&limitBytes=1048576`;
  try {
    const res = await kube.request('GET', path, { signal: AbortSignal.timeout(5000) });
    if (res.ok) return await res.text();
    const body = (await res.text()).slice(0, 200);
    return `(k6gate: the runner's log is not available: HTTP ${res.status} ${body})`;
  } catch (err) {
    logger.debug('cannot read the runner log', { err });
    return `(k6gate: the runner's log is not available: ${(err as Error).message})`;
  }
}
