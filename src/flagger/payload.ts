// The Flagger webhook payload and the original's metadata keys, as valibot schemas.
// Parsing keeps the original's defaults and grammars (Go bools and durations, JSON-in-a-string)
// and reports the first problem as a BadRequest naming the field; values are never echoed.

import { nearest } from '../core/did-you-mean.ts';
import * as v from 'valibot';
import { BadRequest } from '../core/errors.ts';
import { parseGoBool, parseGoDuration } from '../core/go-syntax.ts';
import { ENV_NAME, reservedEnvReason } from '../k6/invocation.ts';
import { COMPARE_KEYS, parseCompareOptions, type CompareOptions } from './compare-options.ts';
import {
  decodeJsonText,
  parsePodOptions,
  POD_OPTION_KEYS,
  type PodOptions,
} from './pod-options.ts';

const DEFAULT_MIN_FAILURE_DELAY_MS = 2 * 60_000;

/** The keys of the original (grafana/flagger-k6-webhook v0.5.7), all string-valued. */
const METADATA_KEYS = [
  'script',
  'upload_to_cloud',
  'wait_for_results',
  'slack_channels',
  'notification_context',
  'min_failure_delay',
  'env_vars',
  'kubernetes_secrets',
  // k6gate's own keys
  'script_configmap',
  'mode',
  'prometheus_rw',
  'runner',
  ...POD_OPTION_KEYS,
  ...COMPARE_KEYS,
] as const;

/** Where a run happens: a child process of k6gate, one Kubernetes Job per run, or a k6-operator
 * TestRun over N runner pods. */
export const RUNNER_KINDS = ['local', 'job', 'k6-operator'] as const;
export type RunnerKind = (typeof RUNNER_KINDS)[number];

export interface SecretRefSpec {
  /** Environment variable the value is exported as. */
  env: string;
  namespace: string;
  name: string;
  key: string;
}

/** `script_configmap`: a ConfigMap in the canary's namespace and the key of the entry script. */
export interface ConfigMapRef {
  name: string;
  key: string;
}

/** How Flagger's calls map to runs: `blocking` (the original's: the call waits for the verdict,
 * or returns at once with wait_for_results=false) or `stateful` (the first call starts the run,
 * later calls for the same canary, phase and checksum answer from its state). */
type HookMode = 'blocking' | 'stateful';

export interface LaunchRequest {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  /** The inline script ('' when the script comes from a ConfigMap). */
  script: string;
  /** Set when the script (and the files beside it) come from a ConfigMap. */
  scriptConfigMap: ConfigMapRef | undefined;
  mode: HookMode;
  uploadToCloud: boolean;
  waitForResults: boolean;
  slackChannels: string[];
  notificationContext: string;
  /** Milliseconds; ≤ 0 disables the failure cache for this request. */
  minFailureDelayMs: number;
  envVars: Record<string, string>;
  secretRefs: SecretRefSpec[];
  /** Metadata keys k6gate does not know (ignored, logged at debug). */
  unknownMetadataKeys: string[];
  /** Send metrics to --prometheus-rw-url (when the daemon has one); "false" opts out. */
  prometheusRw: boolean;
  /** undefined: the daemon's default (--runner). */
  runner: RunnerKind | undefined;
  /** How the pods of a pod run look (labels, parallelism, resources, …). */
  pod: PodOptions;
  /** Relative thresholds: rules against a baseline run (`compare`); undefined without. */
  compare: CompareOptions | undefined;
  /** k6 run's own flags, after `--` on `k6gate run`'s command line; a webhook cannot set them. */
  k6Args?: readonly string[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const requiredName = (what: string, pattern: RegExp, hint: string, maxLength: number) =>
  v.pipe(
    // A default makes valibot run the checks below for a missing key too ("missing name").
    v.optional(v.unknown(), ''),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const value = dataset.value;
      if (value === undefined || value === null || value === '') {
        addIssue({ message: `missing ${what}` });
        return NEVER;
      }
      if (typeof value !== 'string') {
        addIssue({ message: `expected a string, got ${describeType(value)}` });
        return NEVER;
      }
      if (value.length > maxLength || !pattern.test(value)) {
        addIssue({ message: `not a valid ${what}: ${hint}` });
        return NEVER;
      }
      return value;
    }),
  );

const metadataSchema = v.pipe(
  v.optional(v.unknown(), null),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value;
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      addIssue({ message: `expected an object of strings, got ${describeType(value)}` });
      return NEVER;
    }
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'string') {
        addIssue({
          message: `expected a string, got ${describeType(item)} (Flagger metadata values are strings: quote them in the Canary)`,
          path: [
            {
              type: 'object',
              origin: 'value',
              input: value as Record<string, unknown>,
              key,
              value: item,
            },
          ],
        });
        return NEVER;
      }
    }
    return value as Record<string, string>;
  }),
);

/** The Flagger webhook body: name, namespace, phase, checksum, metadata (unknown keys ignored). */
const FlaggerPayloadSchema = v.object({
  name: requiredName(
    'name',
    DNS_SUBDOMAIN,
    'a Kubernetes object name (lowercase letters, digits, "-" and ".", at most 253)',
    253,
  ),
  namespace: requiredName(
    'namespace',
    DNS_LABEL,
    'a Kubernetes namespace (lowercase letters, digits and "-", at most 63)',
    63,
  ),
  phase: requiredName('phase', /^[A-Za-z-]+$/, 'letters and "-" only, at most 64', 64),
  checksum: v.optional(v.string('expected a string'), ''),
  metadata: metadataSchema,
});

type FlaggerPayload = v.InferOutput<typeof FlaggerPayloadSchema>;

/** A canary name or namespace given outside a payload (`k6gate run --name`), checked as a
 * payload's is; a BadRequest names `field`. */
export function checkCanaryName(value: string, kind: 'name' | 'namespace', field: string): string {
  const result = v.safeParse(FlaggerPayloadSchema.entries[kind], value);
  if (!result.success) throw new BadRequest(field, result.issues[0].message);
  return result.output;
}

/** Validates a decoded JSON body into a LaunchRequest, or throws BadRequest naming the field. */
export function parseLaunchPayload(body: unknown): LaunchRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('body', `expected a JSON object, got ${describeType(body)}`);
  }
  const result = v.safeParse(FlaggerPayloadSchema, body);
  if (!result.success) {
    const issue = result.issues[0];
    const field = v.getDotPath(issue) ?? 'body';
    throw new BadRequest(field, issue.message);
  }
  return parseMetadata(result.output);
}

function parseMetadata(payload: FlaggerPayload): LaunchRequest {
  const m = payload.metadata;
  // Typos first: `scirpt` is told "did you mean script", not "missing script".
  const unknownMetadataKeys = unknownKeys(m);
  const { script, scriptConfigMap } = parseScriptSource(m);

  return {
    name: payload.name,
    namespace: payload.namespace,
    phase: payload.phase,
    checksum: payload.checksum,
    script,
    scriptConfigMap,
    mode: parseMode(m.mode),
    uploadToCloud: parseKey(m, 'upload_to_cloud', false, parseGoBool, BOOL_EXPECTED),
    waitForResults: parseKey(m, 'wait_for_results', true, parseGoBool, BOOL_EXPECTED),
    slackChannels: parseSlackChannels(m.slack_channels),
    notificationContext: m.notification_context ?? '',
    minFailureDelayMs: parseKey(
      m,
      'min_failure_delay',
      DEFAULT_MIN_FAILURE_DELAY_MS,
      parseGoDuration,
      DURATION_EXPECTED,
    ),
    envVars: parseEnvVars(m.env_vars),
    secretRefs: parseSecretRefs(m.kubernetes_secrets, payload.namespace),
    prometheusRw: parseKey(m, 'prometheus_rw', true, parseGoBool, BOOL_EXPECTED),
    runner: parseRunner(m.runner),
    pod: parsePodOptions(m),
    compare: parseCompareOptions(m, parseJsonStringMap),
    unknownMetadataKeys,
  };
}

/** Comma-separated channels, each once: "alerts" and "#alerts" are the same channel. */
function parseSlackChannels(text: string | undefined): string[] {
  const seen = new Set<string>();
  const channels: string[] = [];
  for (const channel of (text ?? '').split(',').map((c) => c.trim())) {
    const name = channel.replace(/^#/, '');
    if (name === '' || seen.has(name)) continue;
    seen.add(name);
    channels.push(channel);
  }
  return channels;
}

const BOOL_EXPECTED =
  'expected a boolean string: "true" or "false" (also 1, t, T, TRUE, True, 0, f, F, FALSE, False)';
const DURATION_EXPECTED =
  'expected a Go duration such as "2m", "90s" or "1h30m" (units ns, us, ms, s, m, h)';

/** A string-valued key in one of Go's grammars: '' or absent gives the original's default. */
function parseKey<T>(
  m: Record<string, string>,
  key: string,
  fallback: T,
  parse: (text: string) => T | undefined,
  expected: string,
): T {
  const text = m[key] ?? '';
  if (text === '') return fallback;
  const parsed = parse(text);
  if (parsed === undefined) throw new BadRequest(`metadata.${key}`, expected);
  return parsed;
}

// JSON-in-a-string holding an object ("null" and "" mean an empty one); its values are checked
// by the caller.
function decodeJsonObject(text: string | undefined, key: string, notJson: string): object {
  const decoded = decodeJsonText(text, key, notJson);
  if (decoded === undefined) return {};
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    throw new BadRequest(
      `metadata.${key}`,
      `expected a JSON object of strings, got ${describeType(decoded)}`,
    );
  }
  return decoded;
}

// JSON-in-a-string: an object whose values are all strings ("null" and "" mean none).
function parseJsonStringMap(
  text: string | undefined,
  key: 'env_vars' | 'kubernetes_secrets' | 'baseline_env_vars',
): Record<string, string> {
  const decoded = decodeJsonObject(
    text,
    key,
    'expected a JSON object of strings encoded as a string, e.g. "{\\"NAME\\": \\"value\\"}"; the text is not valid JSON',
  );
  const kind = key === 'kubernetes_secrets' ? key : 'env_vars';
  return checkEnvMap(decoded, kind, { field: `metadata.${key}` });
}

/** Checks a map of environment variable names (env_vars, or kubernetes_secrets' names): plain
 * names, string values, none k6gate reserves. `field` names the map; `fieldOf` one entry
 * (default `<field>.<name>`; a name is only echoed once it is known to be plain). */
export function checkEnvMap(
  map: object,
  kind: 'env_vars' | 'kubernetes_secrets',
  where: { field: string; fieldOf?: (name: string) => string },
): Record<string, string> {
  const fieldOf = where.fieldOf ?? ((name: string) => `${where.field}.${name}`);
  for (const [name, value] of Object.entries(map)) {
    if (!ENV_NAME.test(name)) {
      throw new BadRequest(
        where.field,
        'environment variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (letters, digits and "_", not starting with a digit)',
      );
    }
    if (typeof value !== 'string') {
      throw new BadRequest(fieldOf(name), `expected a string value, got ${describeType(value)}`);
    }
    const reserved = reservedEnvReason(name, kind);
    if (reserved) throw new BadRequest(fieldOf(name), `${name} may not be set: it ${reserved}`);
    if (kind === 'env_vars' && value.includes('\0')) {
      throw new BadRequest(fieldOf(name), 'values may not contain NUL');
    }
  }
  return map as Record<string, string>;
}

function parseEnvVars(text: string | undefined): Record<string, string> {
  return parseJsonStringMap(text, 'env_vars');
}

/** `ns/secret/key` or `secret/key` (the canary's namespace), as the original. */
export function parseSecretRef(
  env: string,
  ref: string,
  canaryNamespace: string,
  field = `metadata.kubernetes_secrets.${env}`,
): SecretRefSpec {
  const parts = ref.split('/');
  let namespace = canaryNamespace;
  let name: string;
  let key: string;
  if (parts.length === 2) {
    [name, key] = parts as [string, string];
  } else if (parts.length === 3) {
    [namespace, name, key] = parts as [string, string, string];
  } else {
    throw new BadRequest(
      field,
      'expected a secret reference "namespace/secret/key" or "secret/key"',
    );
  }
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    throw new BadRequest(field, 'the namespace part is not a valid Kubernetes namespace');
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    throw new BadRequest(field, 'the secret name part is not a valid Kubernetes object name');
  }
  if (!SECRET_KEY.test(key) || key.length > 253) {
    throw new BadRequest(
      field,
      'the key part is not a valid Secret key (letters, digits, "-", "_" and ".")',
    );
  }
  return { env, namespace, name, key };
}

function parseSecretRefs(text: string | undefined, canaryNamespace: string): SecretRefSpec[] {
  const refs = parseJsonStringMap(text, 'kubernetes_secrets');
  return Object.entries(refs).map(([env, ref]) => parseSecretRef(env, ref, canaryNamespace));
}

/** Exactly one script source: `script` (inline) or `script_configmap` ("name" or "name/key"). */
function parseScriptSource(m: Record<string, string>): {
  script: string;
  scriptConfigMap: ConfigMapRef | undefined;
} {
  const script = m.script ?? '';
  const ref = m.script_configmap ?? '';
  if (script.trim() !== '' && ref !== '') {
    throw new BadRequest(
      'metadata.script_configmap',
      'set either script or script_configmap, not both',
    );
  }
  if (ref === '') {
    if (script.trim() === '') {
      throw new BadRequest('metadata.script', 'missing script');
    }
    return { script, scriptConfigMap: undefined };
  }
  return { script: '', scriptConfigMap: parseConfigMapRef(ref, 'metadata.script_configmap') };
}

const DEFAULT_SCRIPT_KEY = 'test.js';
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** `name` or `name/key` (key default test.js); a key is a file name, never a path. */
export function parseConfigMapRef(text: string, field: string): ConfigMapRef {
  const parts = text.split('/');
  const [name, key = DEFAULT_SCRIPT_KEY] = parts as [string, string | undefined];
  if (parts.length > 2) {
    throw new BadRequest(
      field,
      'expected "name" or "name/key" (a ConfigMap of the canary\'s namespace)',
    );
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    throw new BadRequest(field, 'the name part is not a valid Kubernetes object name');
  }
  if (!isFileKey(key)) {
    throw new BadRequest(
      field,
      'the key part is not a valid ConfigMap key (letters, digits, "-", "_" and ".", not "." or "..")',
    );
  }
  return { name, key };
}

/** A ConfigMap key usable as a file name beside the entry script: no path, not `.` or `..`. */
export function isFileKey(key: string): boolean {
  return key.length <= 253 && CONFIGMAP_KEY.test(key) && key !== '.' && key !== '..';
}

function parseMode(text: string | undefined): HookMode {
  if (text === undefined || text === '' || text === 'blocking') return 'blocking';
  if (text === 'stateful') return 'stateful';
  throw new BadRequest('metadata.mode', 'expected "stateful" or "blocking" (the default)');
}

function parseRunner(text: string | undefined): RunnerKind | undefined {
  if (text === undefined || text === '') return undefined;
  const kind = RUNNER_KINDS.find((k) => k === text);
  if (!kind) throw new BadRequest('metadata.runner', `expected one of ${RUNNER_KINDS.join(', ')}`);
  return kind;
}

/** Keys k6gate does not know. One within two edits of a known key is a typo whose value would
 * silently do nothing (`wait_for_result: "false"` holding Flagger's call): a 400 names the key. */
function unknownKeys(m: Record<string, string>): string[] {
  const known = METADATA_KEYS as readonly string[];
  const unknown = Object.keys(m).filter((k) => !known.includes(k));
  for (const key of unknown) {
    const near = nearest(key, known);
    if (near) throw new BadRequest(`metadata.${key}`, `unknown key; did you mean "${near}"?`);
  }
  return unknown;
}
