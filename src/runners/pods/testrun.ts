// The k6-operator runner: one k6.io/v1alpha1 TestRun per run in the canary's namespace, spread
// over `parallelism` runner pods by the operator (execution segments). An inline script goes in
// a ConfigMap owned by the TestRun, a script_configmap is named as is (the operator mounts it). The operator gives no
// verdict (stage `finished` whether runners passed or failed), so supervise.ts reads every runner
// pod's k6 exit code; the TestRun is watched only for stage `error`. k6gate never sets
// `cleanup: post` (it would race the reading) and deletes the TestRun itself.

import { runFlags } from '../../k6/invocation.ts';
import type { KubeTransport } from '../../kube/client.ts';
import { watchAlways, type ObjectMeta } from '../../kube/objects.ts';
import { startRunObject } from './supervise.ts';
import { COLLECTION } from '../../kube/names.ts';
import { runnerPodParts, runObjectMeta, scriptMount } from './manifest.ts';
import type { PodRunnerOptions } from './options.ts';
import type { Pod } from './pod-status.ts';
import type { Runner, RunSpec } from '../runner.ts';

interface TestRunObject {
  metadata: ObjectMeta;
  status?: { stage?: string; conditions?: { type: string; status: string; message?: string }[] };
}

/** @example const runner = createTestRunRunner({ kube, image: 'grafana/k6:2.1.0', … }); */
export function createTestRunRunner(opts: PodRunnerOptions): Runner {
  return {
    start(spec) {
      const testruns = COLLECTION.testRuns(spec.namespace);
      return startRunObject(
        {
          apiVersion: 'k6.io/v1alpha1',
          kind: 'TestRun',
          collection: testruns,
          build: (name) => testRunObject(name, spec, opts),
        },
        spec,
        opts,
        {
          runners: spec.pod.parallelism ?? 1,
          runnerIndex,
          failure: (signal, name) => stageError(opts.kube, testruns, name, signal),
        },
      );
    },
  };
}

function testRunObject(name: string, spec: RunSpec, opts: PodRunnerOptions) {
  const pod = runnerPodParts(spec, opts);
  // Every pod the operator makes (initializer, runners, starter) carries the run's labels and
  // the restricted security context.
  const common = {
    metadata: pod.metadata,
    automountServiceAccountToken: 'false',
    securityContext: pod.podSecurity,
    containerSecurityContext: pod.containerSecurity,
    ...pod.placement,
  };
  const extraArgs = runFlags(spec);
  const script = scriptMount(spec, name);
  return {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: runObjectMeta(name, spec, opts),
    spec: {
      parallelism: spec.pod.parallelism ?? 1,
      separate: spec.pod.separate,
      script: { configMap: { name: script.configMap, file: script.file } },
      quiet: 'false',
      // Extra k6 flags (space-split by the operator): remote write with the run's testid, and
      // `k6gate run`'s flags after `--` (runner rules refuse one holding a space).
      ...(extraArgs.length ? { arguments: extraArgs.join(' ') } : {}),
      runner: {
        ...common,
        image: pod.image,
        env: pod.env,
        ...pod.serviceAccount,
        ...pod.resources,
        // k6 writes nothing but temp files; the root filesystem stays read-only.
        volumes: [{ name: 'tmp', emptyDir: {} }],
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
      starter: common,
    },
  };
}

// Runner pods carry `runner=true` and the job name `<name>-<i>`; others are helpers.
function runnerIndex(pod: Pod, name: string): number | undefined {
  const labels = pod.metadata.labels ?? {};
  if (labels.runner !== 'true') return undefined;
  const m = /^(.*)-([0-9]+)$/.exec(labels['job-name'] ?? '');
  return m && m[1] === name ? Number(m[2]) : undefined;
}

// Settles when the operator puts the TestRun in stage `error` (an invalid spec, a failed
// initializer or `k6 inspect`, or parallelism above the script's VUs).
async function stageError(
  kube: KubeTransport,
  testruns: string,
  name: string,
  signal: AbortSignal,
): Promise<string> {
  const path = `${testruns}?watch=1&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  for await (const ev of watchAlways<TestRunObject>(kube, path, signal)) {
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
    const status = ev.object.status;
    if (status?.stage !== 'error') continue;
    const said = (status.conditions ?? [])
      .filter((c) => c.message)
      .map((c) => `${c.type}: ${c.message}`);
    return [
      `the k6-operator put the TestRun in stage "error" (an invalid spec, a failed initializer or k6 inspect, or parallelism above the script's VUs)`,
      ...said,
    ].join('; ');
  }
  throw new Error('the watch ended');
}
