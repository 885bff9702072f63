// The job runner: one Kubernetes Job per run in the canary's namespace, so a script runs in a
// pod of its own (no service-account token, restricted security context) instead of beside
// k6gate. The script goes in a ConfigMap owned by the Job; the pod is supervised by
// pod-run.ts (one runner). A second request for the same run attaches to the Job under way.

import { buildK6Args } from '../k6/invocation.ts';
import { supervisePodRun } from './pod-run.ts';
import {
  CONTAINER_SECURITY,
  createOrAttach,
  createScriptConfigMap,
  POD_SECURITY,
  type PodRunnerOptions,
  RUN_LABEL,
  runObjectMeta,
  resourcesOf,
  runnerEnv,
  runObjectName,
} from './pods.ts';
import type { Runner, RunSpec } from './runner.ts';

const SCRIPT_DIR = '/scripts';

/** @example const runner = createJobRunner({ kube, image: 'grafana/k6:2.1.0', … }); */
export function createJobRunner(opts: PodRunnerOptions): Runner {
  return {
    async start(spec) {
      opts.usedNamespaces.add(spec.namespace);
      const name = runObjectName(spec);
      const jobs = `/apis/batch/v1/namespaces/${spec.namespace}/jobs`;
      const job = await createOrAttach(opts.kube, jobs, jobObject(name, spec, opts));
      if (job.attached) {
        opts.logger.info(
          'attaching to the run already under way for this canary, phase and checksum',
          { job: `${spec.namespace}/${name}`, runId: job.runId },
        );
      } else {
        const owner = { apiVersion: 'batch/v1', kind: 'Job', uid: job.uid };
        await createScriptConfigMap(opts.kube, spec, name, owner);
      }
      const runLabel = job.attached ? job.runId : spec.runId;
      const run = { kind: 'Job', name, path: `${jobs}/${name}`, runLabel, runners: 1 };
      return supervisePodRun({ ...run, runnerIndex: () => 1 }, spec, opts);
    },
  };
}

function jobObject(name: string, spec: RunSpec, opts: PodRunnerOptions) {
  const labels = { ...spec.labels, [RUN_LABEL]: spec.runId };
  const pod = spec.pod;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: runObjectMeta(name, spec, opts),
    spec: {
      backoffLimit: 0,
      // A Job no k6gate came back for (its daemon stopped, no retry) is deleted an hour after
      // it ended by the TTL controller.
      ttlSecondsAfterFinished: 3600,
      ...(opts.maxRunMs > 0 ? { activeDeadlineSeconds: Math.ceil(opts.maxRunMs / 1000) } : {}),
      template: {
        metadata: {
          labels: { ...pod.labels, ...labels },
          annotations: { ...pod.annotations },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: POD_SECURITY,
          ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
          ...(Object.keys(pod.nodeSelector).length ? { nodeSelector: pod.nodeSelector } : {}),
          ...(pod.tolerations.length ? { tolerations: pod.tolerations } : {}),
          containers: [
            {
              name: 'k6',
              image: pod.image ?? opts.image,
              ...resourcesOf(pod.resources ?? opts.runnerResources),
              args: buildK6Args(`${SCRIPT_DIR}/${spec.scriptName}`, spec),
              env: runnerEnv(spec),
              workingDir: '/tmp',
              securityContext: CONTAINER_SECURITY,
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
