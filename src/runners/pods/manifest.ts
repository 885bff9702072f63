// What the objects of a pod run look like (job and k6-operator alike): the run object's name,
// labels and deadline, the runner pods' metadata, placement, resources, restricted security
// contexts and env (env_vars as plain env, secrets by reference, k6gate's own k6 settings), and
// where the pods find the script.

import { K6_ENV_BY_K6GATE, outputEnv } from '../../k6/invocation.ts';
import { ANNOTATION, LABEL } from '../../kube/names.ts';
import type { RunnerResources, RunSpec } from '../runner.ts';
import type { PodRunnerOptions } from './options.ts';

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
      ? { annotations: { [ANNOTATION.deadline]: new Date(deadline).toISOString() } }
      : {}),
  };
}

/** The labels every object and pod of a run carries: the canary's, and the run id. */
export function runObjectLabels(spec: Pick<RunSpec, 'labels' | 'runId'>) {
  return { ...spec.labels, [LABEL.runId]: spec.runId };
}

/** A runner pod's metadata: the request's labels and annotations, the run's labels over them. */
function runnerPodMetadata(spec: RunSpec) {
  return {
    labels: { ...spec.pod.labels, ...runObjectLabels(spec) },
    annotations: { ...spec.pod.annotations },
  };
}

/** Where runner pods may go: the request's node selector and tolerations, when it has them. */
function placementOf(pod: RunSpec['pod']) {
  return {
    ...(Object.keys(pod.nodeSelector).length ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.tolerations.length ? { tolerations: pod.tolerations } : {}),
  };
}

/** The restricted Pod Security Standard, for every pod k6gate asks for. */
const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 12345,
  runAsGroup: 12345,
  seccompProfile: { type: 'RuntimeDefault' },
} as const;
const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
} as const;

/** A runner container's env: the caller's env_vars, secrets by reference (k6gate never reads
 * them for pod runs), then what k6gate sets for every k6 (last, so nothing overrides it). */
function runnerEnv(spec: RunSpec) {
  return [
    ...Object.entries(spec.envVars).map(([name, value]) => ({ name, value })),
    ...spec.secretRefs.map((r) => ({
      name: r.env,
      valueFrom: { secretKeyRef: { name: r.name, key: r.key } },
    })),
    ...Object.entries({ ...K6_ENV_BY_K6GATE, ...outputEnv(spec, false) }).map(([name, value]) => ({
      name,
      value,
    })),
  ];
}

/** A container's `resources`, when any are set. */
function resourcesOf(resources: RunnerResources | undefined) {
  return resources ? { resources } : {};
}

/** One name per canary, phase, checksum, script and every other run option (env, secrets, pod
 * options, …): a second request for the same run (Flagger's retry, on this replica or another,
 * or after a restart) finds it instead of starting another; one that differs in anything
 * is another run. */
export function runObjectName(spec: RunSpec): string {
  const hash = new Bun.CryptoHasher('sha256');
  for (const k of Object.keys(spec.labels).sort()) hash.update(`${k}=${spec.labels[k]}\n`);
  const b = spec.bundle;
  hash.update(b ? `configmap ${b.configMap}/${b.entry} ${b.digest}\n` : `${spec.script}\n`);
  // Every other option that shapes the run: a request that differs in any is another run.
  hash.update(
    JSON.stringify([
      sorted(spec.envVars),
      spec.secretRefs.map((r) => [r.env, r.namespace, r.name, r.key]),
      spec.pod,
      spec.uploadToCloud,
      spec.prometheusRw?.url ?? '',
      spec.keepForMs ?? null,
    ]),
  );
  return `k6gate-${hash.digest('hex').slice(0, 16)}`;
}

const sorted = (m: Readonly<Record<string, string>>) =>
  Object.keys(m)
    .sort()
    .map((k) => [k, m[k]]);

/** Where runner pods find the test: the ConfigMap to mount and the key k6 runs. An inline script
 * (or files from outside the cluster, `k6gate run archive.tar`) gets a ConfigMap of the run's
 * own, named as the run object; a script_configmap is mounted by reference. */
export function scriptMount(spec: RunSpec, runName: string): { configMap: string; file: string } {
  const b = spec.bundle;
  if (b?.inCluster) return { configMap: b.configMap, file: b.entry };
  return { configMap: runName, file: b ? b.entry : spec.scriptName };
}

/** What every runner pod of a run has, whichever object makes it (a Job's template, a TestRun's
 * runner): metadata, security contexts, placement, and the k6 container's image, resources,
 * env and service account. */
export function runnerPodParts(spec: RunSpec, opts: PodRunnerOptions) {
  const pod = spec.pod;
  return {
    metadata: runnerPodMetadata(spec),
    podSecurity: POD_SECURITY,
    containerSecurity: CONTAINER_SECURITY,
    placement: placementOf(pod),
    image: pod.image ?? opts.image,
    resources: resourcesOf(pod.resources ?? opts.runnerResources),
    env: runnerEnv(spec),
    serviceAccount: opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {},
  };
}
