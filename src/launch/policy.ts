// Who may launch what, checked after validation and before admission (no slot, no API call):
// the canary's namespace against --allowed-namespaces and the caller's own namespaces (auth
// file), every kubernetes_secrets reference against the canary's namespace (plus
// --secrets-namespaces), with at most --max-secret-refs references, and the tenant policy: the
// daemon's limits (--runners-allowed, --secrets-allowed, the pod-option key lists, images,
// --max-runner-resources), then the client's own (`policy` in the auth file), so a client
// never gets more than the daemon allows. Then, once the runner is known, whether the pod
// options fit it (parallelism, job vs k6-operator, …): createRunnerRules.

import type { Limits } from '../auth/limits.ts';
import { BadRequest, Forbidden } from '../core/errors.ts';
import { compileGlobs, type GlobMatcher } from '../core/globs.ts';
import { compileImageAllowList } from '../core/image-ref.ts';
import { quantityValue } from '../core/quantity.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import type { Client } from '../auth/clients.ts';

export interface PolicySettings {
  allowedNamespaces: readonly string[];
  secretsNamespaces: readonly string[];
  maxSecretRefs: number;
  /** The runner of a request that names none (--runner). */
  runner: RunnerKind;
  /** The daemon's tenant policy (compose/policy-settings.ts). */
  limits: Limits;
}

/** Throws Forbidden (403) or BadRequest (400) naming the field; `client` is undefined when no
 * auth file is configured. */
export type LaunchPolicy = (req: LaunchRequest, client: Client | undefined) => void;

export function createLaunchPolicy(settings: PolicySettings): LaunchPolicy {
  const allowed = compileGlobs(settings.allowedNamespaces, true);
  const extraSecretNamespaces = compileGlobs(settings.secretsNamespaces, false);
  const daemon = compileLimits(settings.limits);
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
    const kind = req.runner ?? settings.runner;
    daemon(req, kind);
    if (client?.limits) compiledFor(client.limits)(req, kind);
  };
}

type LimitCheck = (req: LaunchRequest, kind: RunnerKind) => void;
const compiled = new WeakMap<Limits, LimitCheck>();
// A client's limits are compiled once per auth file version (the object is the cache key).
function compiledFor(limits: Limits): LimitCheck {
  let check = compiled.get(limits);
  if (!check) compiled.set(limits, (check = compileLimits(limits)));
  return check;
}

// The names an error gives a limit: the daemon's setting, or the client's policy key.
function limitName(l: Limits, flag: string, key: string): string {
  return l.source === 'daemon' ? flag : `client "${l.source.client}" policy.${key}`;
}

// undefined: no limit; a list: an allow-list (empty refuses every value).
const globsOf = (list: readonly string[] | undefined): GlobMatcher | undefined =>
  list && compileGlobs(list, false);

/** A pod option whose keys a limit allows: the option, its metadata field, the allowed globs,
 * the daemon's flag and the client policy's key. */
type KeyRule = [keyof LaunchRequest['pod'], string, GlobMatcher | undefined, string, string];

interface Compiled {
  l: Limits;
  secrets?: GlobMatcher;
  images?: GlobMatcher;
  keys: KeyRule[];
  tolerationKeys?: GlobMatcher;
}

/** One set of limits as a check of a request and its runner. */
function compileLimits(l: Limits): LimitCheck {
  const c: Compiled = {
    l,
    secrets: globsOf(l.secrets),
    images: l.images && compileImageAllowList(l.images),
    keys: [
      [
        'labels',
        'runner_labels',
        globsOf(l.labelKeys),
        '--runner-label-keys-allowed',
        'runner_label_keys',
      ],
      [
        'annotations',
        'runner_annotations',
        globsOf(l.annotationKeys),
        '--runner-annotation-keys-allowed',
        'runner_annotation_keys',
      ],
      [
        'nodeSelector',
        'node_selector',
        globsOf(l.nodeSelectorKeys),
        '--node-selector-keys-allowed',
        'node_selector_keys',
      ],
    ],
    tolerationKeys: globsOf(l.tolerationKeys),
  };
  return (req, kind) => {
    checkRunner(req, kind, l);
    checkSecrets(req, c);
    if (kind === 'local') return; // pod options on a local run are refused by the runner rules
    checkPodOptions(req, c);
    checkTolerations(req, c);
    checkResources(req, l);
    checkParallelism(req, l);
  };
}

function checkRunner(req: LaunchRequest, kind: RunnerKind, l: Limits) {
  if (!l.runners || l.runners.includes(kind)) return;
  const by = req.runner === undefined ? ' (the default runner)' : '';
  throw new Forbidden(
    'metadata.runner',
    `runner "${kind}"${by} is not allowed (${limitName(l, '--runners-allowed', 'runners')}: ${l.runners.join(', ') || 'none'})`,
  );
}

function checkSecrets(req: LaunchRequest, { l, secrets }: Compiled) {
  const ref = secrets && req.secretRefs.find((r) => !secrets(r.name));
  if (!ref) return;
  throw new Forbidden(
    `metadata.kubernetes_secrets.${ref.env}`,
    `secret "${ref.name}" is not allowed (${limitName(l, '--secrets-allowed', 'secrets')})`,
  );
}

// The image as a repository of the allow-list; label, annotation and node-selector keys.
function checkPodOptions(req: LaunchRequest, { l, images, keys }: Compiled) {
  const pod = req.pod;
  if (pod.image !== undefined && images && !images(pod.image)) {
    throw new Forbidden(
      'metadata.runner_image',
      `image "${pod.image}" is not allowed (${limitName(l, '--runner-images-allowed', 'images')})`,
    );
  }
  for (const [option, field, allowed, flag, key] of keys) {
    const map = pod[option] as Record<string, string>;
    const bad = allowed ? Object.keys(map).find((k) => !allowed(k)) : undefined;
    if (bad !== undefined) {
      throw new Forbidden(
        `metadata.${field}`,
        `key "${bad}" is not allowed (${limitName(l, flag, key)})`,
      );
    }
  }
}

// No `Exists` without a key (the daemon's own rule: it tolerates every taint); keys allowed.
function checkTolerations(req: LaunchRequest, { l, tolerationKeys }: Compiled) {
  req.pod.tolerations.forEach((t, i) => {
    if (l.source === 'daemon' && t.key === undefined && t.operator === 'Exists') {
      throw new Forbidden(
        `metadata.tolerations.${i}`,
        'operator "Exists" without a key tolerates every taint; name the key',
      );
    }
    if (tolerationKeys && t.key !== undefined && !tolerationKeys(t.key)) {
      throw new Forbidden(
        `metadata.tolerations.${i}.key`,
        `key "${t.key}" is not allowed (${limitName(l, '--toleration-keys-allowed', 'toleration_keys')})`,
      );
    }
  });
}

// A client's ceiling on runner pods (the daemon's own is a runner rule).
function checkParallelism(req: LaunchRequest, l: Limits) {
  if (l.source === 'daemon' || l.maxParallelism === undefined) return;
  if ((req.pod.parallelism ?? 1) <= l.maxParallelism) return;
  throw new Forbidden(
    'metadata.parallelism',
    `at most ${l.maxParallelism} runner pods (${limitName(l, '--max-parallelism', 'max_parallelism')})`,
  );
}

// Every requested or limited resource at or under the ceiling; a resource the ceiling does not
// name is not limited.
function checkResources(req: LaunchRequest, l: Limits) {
  const max = l.maxResources;
  const asked = req.pod.resources;
  if (!max || !asked) return;
  for (const part of ['requests', 'limits'] as const) {
    const list: Record<string, string | undefined> = { ...asked[part] };
    for (const [name, value] of Object.entries(list)) {
      if (value === undefined) continue;
      const ceiling = max[name as keyof typeof max];
      if (ceiling !== undefined && quantityValue(value) > quantityValue(ceiling)) {
        throw new Forbidden(
          `metadata.runner_resources.${part}.${name}`,
          `${value} is over the ceiling ${ceiling} (${limitName(l, '--max-runner-resources', 'max_runner_resources')})`,
        );
      }
    }
  }
}

export interface RunnerRuleSettings {
  maxParallelism: number;
}

/** Checks that a request's pod options fit the runner it will use; throws BadRequest naming
 * the field. */
export type RunnerRules = (req: LaunchRequest, kind: RunnerKind) => void;

export function createRunnerRules(settings: RunnerRuleSettings): RunnerRules {
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
    if (kind === 'k6-operator' && req.k6Args?.some((a) => /\s/.test(a))) {
      throw new BadRequest(
        '--',
        'the k6-operator splits its arguments at spaces: a k6 flag holding one cannot reach it',
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

// The first pod option a request sets, if any (asked of every local request: no allocation).
function podKeysSet(req: LaunchRequest): string | undefined {
  const p = req.pod;
  if (!isEmpty(p.labels)) return 'runner_labels';
  if (!isEmpty(p.annotations)) return 'runner_annotations';
  if (p.parallelism !== undefined) return 'parallelism';
  if (p.separate) return 'separate';
  if (p.resources !== undefined) return 'runner_resources';
  if (!isEmpty(p.nodeSelector)) return 'node_selector';
  if (p.tolerations.length > 0) return 'tolerations';
  if (p.image !== undefined) return 'runner_image';
  return undefined;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
