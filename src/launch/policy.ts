// Who may launch what, checked after validation and before admission (no slot, no API call):
// the canary's namespace against --allowed-namespaces and the caller's own namespaces (auth
// file), and every kubernetes_secrets reference against the canary's namespace (plus
// --secrets-namespaces), with at most --max-secret-refs references. Then, once the runner is
// known, whether the pod options fit it (parallelism, allowed images, …).

import { BadRequest, Forbidden } from '../core/errors.ts';
import { compileGlobs } from '../core/globs.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import type { Client } from '../auth/clients.ts';

export interface PolicySettings {
  allowedNamespaces: readonly string[];
  secretsNamespaces: readonly string[];
  maxSecretRefs: number;
}

/** Throws Forbidden (403) or BadRequest (400) naming the field; `client` is undefined when no
 * auth file is configured. */
export type LaunchPolicy = (req: LaunchRequest, client: Client | undefined) => void;

export function createLaunchPolicy(settings: PolicySettings): LaunchPolicy {
  const allowed = compileGlobs(settings.allowedNamespaces, true);
  const extraSecretNamespaces = compileGlobs(settings.secretsNamespaces, false);
  return (req, client) => {
    if (!allowed(req.namespace)) {
      throw new Forbidden(
        'namespace',
        `namespace "${req.namespace}" may not run tests here (not in --allowed-namespaces)`,
      );
    }
    if (client && !client.mayUse(req.namespace)) {
      throw new Forbidden(
        'namespace',
        `client "${client.name}" may not run tests for namespace "${req.namespace}"`,
      );
    }
    if (req.secretRefs.length > settings.maxSecretRefs) {
      throw new BadRequest(
        'metadata.kubernetes_secrets',
        `${req.secretRefs.length} secret references; at most ${settings.maxSecretRefs} are allowed (--max-secret-refs)`,
      );
    }
    for (const ref of req.secretRefs) {
      if (ref.namespace !== req.namespace && !extraSecretNamespaces(ref.namespace)) {
        throw new Forbidden(
          `metadata.kubernetes_secrets.${ref.env}`,
          `secrets may only come from the canary's namespace "${req.namespace}", not "${ref.namespace}" (see --secrets-namespaces)`,
        );
      }
    }
  };
}

export interface RunnerRuleSettings {
  maxParallelism: number;
  runnerImagesAllowed: readonly string[];
}

/** Checks that a request's pod options fit the runner it will use; throws BadRequest or
 * Forbidden (an image outside --runner-images-allowed) naming the field. */
export type RunnerRules = (req: LaunchRequest, kind: RunnerKind) => void;

export function createRunnerRules(settings: RunnerRuleSettings): RunnerRules {
  const imageAllowed = (image: string) =>
    settings.runnerImagesAllowed.some((a) =>
      a.endsWith('*') ? image.startsWith(a.slice(0, -1)) : image === a,
    );
  return (req, kind) => {
    const pod = req.pod;
    if (kind === 'local') {
      const set = podKeysSet(req);
      if (set)
        throw new BadRequest(
          `metadata.${set}`,
          'applies to pod runs only (runner job or k6-operator); this run is local',
        );
      return;
    }
    if (kind === 'job' && ((pod.parallelism ?? 1) > 1 || pod.separate)) {
      const key = pod.separate ? 'separate' : 'parallelism';
      throw new BadRequest(`metadata.${key}`, 'needs runner "k6-operator" (a job run has one pod)');
    }
    if ((pod.parallelism ?? 1) > settings.maxParallelism) {
      throw new BadRequest(
        'metadata.parallelism',
        `at most ${settings.maxParallelism} runner pods on this k6gate (--max-parallelism)`,
      );
    }
    if (pod.image !== undefined && !imageAllowed(pod.image)) {
      throw new Forbidden(
        'metadata.runner_image',
        `image "${pod.image}" is not in --runner-images-allowed`,
      );
    }
    if (kind === 'k6-operator' && req.uploadToCloud) {
      throw new BadRequest(
        'metadata.upload_to_cloud',
        'not supported with runner "k6-operator" (the operator uploads with its own Grafana Cloud k6 token); use runner job or local',
      );
    }
  };
}

// The first pod option a request sets, if any.
function podKeysSet(req: LaunchRequest): string | undefined {
  const p = req.pod;
  const set: [string, boolean][] = [
    ['runner_labels', Object.keys(p.labels).length > 0],
    ['runner_annotations', Object.keys(p.annotations).length > 0],
    ['parallelism', p.parallelism !== undefined],
    ['separate', p.separate],
    ['runner_resources', p.resources !== undefined],
    ['node_selector', Object.keys(p.nodeSelector).length > 0],
    ['tolerations', p.tolerations.length > 0],
    ['runner_image', p.image !== undefined],
  ];
  return set.find(([, on]) => on)?.[0];
}
