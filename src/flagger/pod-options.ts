// The metadata keys that shape the pods of a pod run (runner job or k6-operator), each decoded
// from Flagger's string metadata and validated with valibot, a 400 naming the field on the first
// problem: runner_labels, runner_annotations, parallelism, separate, runner_resources,
// node_selector, tolerations, runner_image. Values are never echoed (annotations may be long).

import * as v from 'valibot';
import { BadRequest } from '../core/errors.ts';
import { parseGoBool } from '../core/go-syntax.ts';

export interface ResourceList {
  cpu?: string;
  memory?: string;
  'ephemeral-storage'?: string;
}
interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface PodOptions {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Runner pods (k6-operator); undefined when the request does not say. */
  parallelism: number | undefined;
  /** One runner per node (k6-operator `separate`). */
  separate: boolean;
  /** undefined: the daemon's --runner-resources. */
  resources: { requests?: ResourceList; limits?: ResourceList } | undefined;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  /** A k6 image other than the daemon's --runner-image (checked against --runner-images-allowed). */
  image: string | undefined;
}

export const POD_OPTION_KEYS = [
  'runner_labels',
  'runner_annotations',
  'parallelism',
  'separate',
  'runner_resources',
  'node_selector',
  'tolerations',
  'runner_image',
] as const;

/** The most runner pods a request may name; the daemon's --max-parallelism may lower it. */
const PARALLELISM_LIMIT = 1000;

// Kubernetes label/annotation keys: an optional DNS-subdomain prefix and a name of at most 63.
const META_KEY =
  /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const IMAGE = /^[a-z0-9]([-a-z0-9._/:@]{0,254})$/;

const quantity = v.pipe(
  v.string(),
  v.regex(QUANTITY, 'expected a Kubernetes quantity such as "500m", "2" or "1Gi"'),
);
export const ResourceListSchema = v.strictObject({
  cpu: v.optional(quantity),
  memory: v.optional(quantity),
  'ephemeral-storage': v.optional(quantity),
});
export const ResourcesSchema = v.strictObject(
  { requests: v.optional(ResourceListSchema), limits: v.optional(ResourceListSchema) },
  'expected only "requests" and "limits", each {cpu, memory, ephemeral-storage}',
);
const TolerationsSchema = v.pipe(
  v.array(
    v.strictObject(
      {
        key: v.optional(v.pipe(v.string(), v.regex(META_KEY, 'expected a label key'))),
        operator: v.optional(v.picklist(['Exists', 'Equal'], 'expected Exists or Equal')),
        value: v.optional(v.pipe(v.string(), v.regex(LABEL_VALUE, 'expected a label value'))),
        effect: v.optional(
          v.picklist(
            ['NoSchedule', 'PreferNoSchedule', 'NoExecute'],
            'expected NoSchedule, PreferNoSchedule or NoExecute',
          ),
        ),
        tolerationSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
      },
      'expected a toleration {key, operator, value, effect, tolerationSeconds}',
    ),
    'expected a JSON array of tolerations',
  ),
  v.maxLength(32, 'at most 32 tolerations'),
);
const labelMap = (value: RegExp, valueHint: string) =>
  v.pipe(
    v.record(v.string(), v.pipe(v.string('expected a string'), v.regex(value, valueHint))),
    v.check(
      (m) => Object.keys(m).every((k) => META_KEY.test(k)),
      'keys must be Kubernetes label keys ([prefix/]name)',
    ),
  );
const LabelsSchema = labelMap(
  LABEL_VALUE,
  'expected a label value (at most 63 letters, digits, "-", "_", ".")',
);
const AnnotationsSchema = labelMap(
  /^[\s\S]{0,4096}$/,
  'expected a string of at most 4096 characters',
);

/** Runner pod labels or annotations given outside a payload (`k6gate run --pod-label`), checked
 * as a payload's are; a BadRequest names `field`. */
export function checkPodMap(
  map: Record<string, string>,
  kind: 'labels' | 'annotations',
  field: string,
): Record<string, string> {
  const result = v.safeParse(kind === 'labels' ? LabelsSchema : AnnotationsSchema, map);
  if (!result.success) throw new BadRequest(field, result.issues[0].message);
  return result.output;
}

/** No pod options: what a local run, or a request that names none, has. */
export const NO_POD_OPTIONS: PodOptions = {
  labels: {},
  annotations: {},
  parallelism: undefined,
  separate: false,
  resources: undefined,
  nodeSelector: {},
  tolerations: [],
  image: undefined,
};

const MAP = 'a JSON object of strings';
/** Parses the pod keys of a request's metadata; absent keys give empty options. */
export function parsePodOptions(m: Record<string, string>): PodOptions {
  return {
    labels: decode(m, 'runner_labels', MAP, LabelsSchema, {}),
    annotations: decode(m, 'runner_annotations', MAP, AnnotationsSchema, {}),
    parallelism: parseParallelism(m.parallelism),
    separate: parseSeparate(m.separate),
    resources: decode(
      m,
      'runner_resources',
      '{"requests": {…}, "limits": {…}}',
      ResourcesSchema,
      undefined,
    ),
    nodeSelector: decode(m, 'node_selector', MAP, LabelsSchema, {}),
    tolerations: decode(m, 'tolerations', 'a JSON array of tolerations', TolerationsSchema, []),
    image: parseImage(m.runner_image),
  };
}

/** JSON-in-a-string (a metadata value): undefined for '' and "null"; BadRequest naming
 * metadata.<key> with `notJson` when the text is not JSON. Values are never echoed. */
export function decodeJsonText(text: string | undefined, key: string, notJson: string): unknown {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '' || trimmed === 'null') return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    throw new BadRequest(`metadata.${key}`, notJson);
  }
}

// JSON-in-a-string through a schema; '' and "null" give the fallback.
function decode<S extends v.GenericSchema, F>(
  m: Record<string, string>,
  key: string,
  shape: string,
  schema: S,
  fallback: F,
): v.InferOutput<S> | F {
  const notJson = `expected ${shape} encoded as a string; the text is not valid JSON`;
  const json = decodeJsonText(m[key], key, notJson);
  if (json === undefined) return fallback;
  const result = v.safeParse(schema, json);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue);
  throw new BadRequest(`metadata.${key}${path ? `.${path}` : ''}`, issue.message);
}

export function parseParallelism(
  text: string | undefined,
  field = 'metadata.parallelism',
): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = /^[0-9]{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= PARALLELISM_LIMIT)) {
    throw new BadRequest(
      field,
      `expected a whole number of runner pods from 1 to ${PARALLELISM_LIMIT}`,
    );
  }
  return n;
}

function parseSeparate(text: string | undefined): boolean {
  if (text === undefined || text === '') return false;
  const b = parseGoBool(text);
  if (b === undefined) throw new BadRequest('metadata.separate', 'expected "true" or "false"');
  return b;
}

function parseImage(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  if (!IMAGE.test(text)) {
    throw new BadRequest(
      'metadata.runner_image',
      'expected an image reference (repo[:tag][@digest])',
    );
  }
  return text;
}
