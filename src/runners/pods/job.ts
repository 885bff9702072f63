// The job runner: one Kubernetes Job per run in the canary's namespace, so a script runs in a
// pod of its own (no service-account token, restricted security context) instead of beside
// k6gate. supervise.ts creates it (or attaches to the one under way) with the script ConfigMap
// it owns, and supervises its one pod.

import { buildK6Args } from '../../k6/invocation.ts';
import { startRunObject } from './supervise.ts';
import { COLLECTION } from '../../kube/names.ts';
import { runnerPodParts, runObjectMeta, scriptMount } from './manifest.ts';
import type { PodRunnerOptions } from './options.ts';
import type { Runner, RunSpec } from '../runner.ts';

const SCRIPT_DIR = '/scripts';

/** @example const runner = createJobRunner({ kube, image: 'grafana/k6:2.1.0', … }); */
export function createJobRunner(opts: PodRunnerOptions): Runner {
  return {
    start: (spec) =>
      startRunObject(
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          collection: COLLECTION.jobs(spec.namespace),
          build: (name) => jobObject(name, spec, opts),
        },
        spec,
        opts,
        { runners: 1, runnerIndex: () => 1 },
      ),
  };
}

function jobObject(name: string, spec: RunSpec, opts: PodRunnerOptions) {
  const pod = runnerPodParts(spec, opts);
  const script = scriptMount(spec, name);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: runObjectMeta(name, spec, opts),
    spec: {
      backoffLimit: 0,
      // A Job no k6gate came back for (its daemon stopped, no retry) is deleted an hour after
      // it ended by the TTL controller.
      // A stateful hook's Job is kept at least as long as its verdict is answered.
      ttlSecondsAfterFinished: Math.max(3600, Math.ceil((spec.keepForMs ?? 0) / 1000)),
      ...(opts.maxRunMs > 0 ? { activeDeadlineSeconds: Math.ceil(opts.maxRunMs / 1000) } : {}),
      template: {
        metadata: pod.metadata,
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: pod.podSecurity,
          ...pod.serviceAccount,
          ...pod.placement,
          containers: [
            {
              name: 'k6',
              image: pod.image,
              ...pod.resources,
              args: buildK6Args(`${SCRIPT_DIR}/${script.file}`, spec),
              env: pod.env,
              workingDir: '/tmp',
              securityContext: pod.containerSecurity,
              volumeMounts: [
                { name: 'script', mountPath: SCRIPT_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'script', configMap: { name: script.configMap } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}
