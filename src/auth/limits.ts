// What one caller may run: the shape of the tenant policy, as the daemon's settings give it
// (config/settings.ts) and as an auth file client narrows it (`clients[].policy`). Checking a
// request against limits is launch/policy.ts's job; this file only says what limits are and
// parses a client's from YAML. A client never gets more than the daemon allows: both are checked.

import * as v from 'valibot';
import { imageEntryProblem } from '../core/image-ref.ts';
import { RUNNER_KINDS, type RunnerKind } from '../flagger/payload.ts';
import { ResourceListSchema, type ResourceList } from '../flagger/pod-options.ts';

export interface Limits {
  /** Where it names the limits in an error: "--runners-allowed" style, or `client "a" policy.`. */
  source: 'daemon' | { client: string };
  /** Runners a request may pick (metadata runner, or the daemon's default). */
  runners?: readonly RunnerKind[];
  /** runner_image allow-list (core/image-ref.ts). */
  images?: readonly string[];
  /** Secret names (globs) kubernetes_secrets may name. */
  secrets?: readonly string[];
  /** Key globs for runner_labels, runner_annotations, node_selector and tolerations. */
  labelKeys?: readonly string[];
  annotationKeys?: readonly string[];
  nodeSelectorKeys?: readonly string[];
  tolerationKeys?: readonly string[];
  /** The most a runner pod may request or be limited to, per resource. */
  maxResources?: ResourceList;
  maxParallelism?: number;
}

const KEY_GLOB = /^[A-Za-z0-9*?./_-]+$/;
const SECRET_GLOB = /^[a-z0-9*?.-]+$/;
const globs = (re: RegExp, what: string) =>
  v.array(v.pipe(v.string(), v.regex(re, `expected ${what}`)));

/** A client's `policy` in the auth file (snake_case, as the rest of the file). */
export const ClientPolicySchema = v.strictObject(
  {
    runners: v.optional(v.array(v.picklist(RUNNER_KINDS, 'expected local, job or k6-operator'))),
    images: v.optional(
      v.array(
        v.pipe(
          v.string(),
          v.check((e) => imageEntryProblem(e) === undefined, 'a "*" only as a whole last segment'),
        ),
      ),
    ),
    secrets: v.optional(globs(SECRET_GLOB, 'a secret name glob')),
    runner_label_keys: v.optional(globs(KEY_GLOB, 'a label key glob')),
    runner_annotation_keys: v.optional(globs(KEY_GLOB, 'an annotation key glob')),
    node_selector_keys: v.optional(globs(KEY_GLOB, 'a label key glob')),
    toleration_keys: v.optional(globs(KEY_GLOB, 'a taint key glob')),
    max_runner_resources: v.optional(ResourceListSchema),
    max_parallelism: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  },
  'expected {runners, images, secrets, runner_label_keys, runner_annotation_keys, node_selector_keys, toleration_keys, max_runner_resources, max_parallelism}',
);

/** The Limits of a client's parsed `policy`. */
export function clientLimits(client: string, p: v.InferOutput<typeof ClientPolicySchema>): Limits {
  return {
    source: { client },
    runners: p.runners,
    images: p.images,
    secrets: p.secrets,
    labelKeys: p.runner_label_keys,
    annotationKeys: p.runner_annotation_keys,
    nodeSelectorKeys: p.node_selector_keys,
    tolerationKeys: p.toleration_keys,
    maxResources: p.max_runner_resources,
    maxParallelism: p.max_parallelism,
  };
}
