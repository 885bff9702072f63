// `k6gate run`'s command line: one parser (node:util parseArgs, strict) over the run's own
// flags and every daemon setting, so an unknown flag is named before anything runs; then the
// flags become a typed LaunchRequest, each value checked by the payload's own checkers with the
// flag as the field (`--env: …`), never round-tripped through JSON strings.

import { parseArgs as parseArgv } from 'node:util';
import { SETTINGS } from '../config/settings.ts';
import { UsageError } from '../core/errors.ts';
import { parseGoDuration } from '../core/go-syntax.ts';
import {
  checkCanaryName,
  checkEnvMap,
  parseConfigMapRef,
  parseSecretRef,
  type LaunchRequest,
} from '../flagger/payload.ts';
import { checkPodMap, NO_POD_OPTIONS, parseParallelism } from '../flagger/pod-options.ts';

/** The run's own flags (the daemon's settings are accepted too). */
const RUN_FLAGS = {
  env: { type: 'string', multiple: true, short: 'e' },
  secret: { type: 'string', multiple: true },
  configmap: { type: 'string' },
  parallelism: { type: 'string' },
  'pod-label': { type: 'string', multiple: true },
  'pod-annotation': { type: 'string', multiple: true },
  'upload-to-cloud': { type: 'boolean' },
  'slack-channel': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  // k6's own shortcut options, with k6's meaning: they reach k6 as K6_VUS, K6_DURATION and
  // K6_ITERATIONS, which k6 puts above the script's options (and its scenarios), as its flags.
  vus: { type: 'string', short: 'u' },
  duration: { type: 'string', short: 'd' },
  iterations: { type: 'string', short: 'i' },
  namespace: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SETTING_FLAGS = Object.fromEntries(
  SETTINGS.map((s) => [s.flag.slice(2), { type: 'string' as const }]),
);

export interface RunPlan {
  /** The script argument ('-' for stdin), unless --configmap. */
  script: string | undefined;
  /** --configmap's `name[/key]` (its namespace is the run's). */
  configMapRef: string | undefined;
  json: boolean;
  /** --timeout in milliseconds, when given. */
  timeoutMs: number | undefined;
  /** The daemon settings given as flags, for config/parse.ts. */
  settings: string[];
  /** Builds the request once the script's source is known. */
  request(source: { script: string } | { configMap: string }): LaunchRequest;
}

/** Splits argv into the run's plan and the daemon settings; 'help' for --help. */
export function parseRunArgs(argv: readonly string[]): RunPlan | 'help' {
  const dashes = argv.indexOf('--');
  const k6Args = dashes < 0 ? [] : checkK6Args(argv.slice(dashes + 1));
  const { values, positionals } = parseStrict(dashes < 0 ? argv : argv.slice(0, dashes));
  if (values.help) return 'help';
  const configmap = values.configmap;
  if (positionals.length > 1) throw new UsageError(`one script, not ${positionals.length}`);
  if ((positionals.length === 1) === (configmap !== undefined)) {
    throw new UsageError('give exactly one of a script file, - (stdin) or --configmap');
  }
  const settings = SETTINGS.flatMap((s) => {
    const value = values[s.flag.slice(2)];
    return typeof value === 'string' ? [s.flag, value] : [];
  });
  const script = positionals[0];
  const cm = configmap === undefined ? undefined : splitConfigMap(configmap);
  const namespace = cm?.namespace ?? values.namespace ?? 'default';
  const name = values.name ?? nameOf(script ?? cm?.ref ?? 'test');
  return {
    script,
    configMapRef: cm?.ref,
    json: values.json ?? false,
    timeoutMs: values.timeout === undefined ? undefined : timeoutOf(values.timeout),
    settings,
    request: requestOf(values, k6Args, {
      name,
      namespace,
      flag: values.name ? '--name' : 'the script name',
    }),
  };
}

type Values = ReturnType<typeof parseStrict>['values'];

function parseStrict(argv: readonly string[]) {
  try {
    const parsed = parseArgv({
      args: [...argv],
      options: { ...SETTING_FLAGS, ...RUN_FLAGS },
      strict: true,
      allowPositionals: true,
    });
    return {
      values: parsed.values as typeof parsed.values & Record<string, string | undefined>,
      positionals: parsed.positionals,
    };
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
}

// node:util's errors, in k6gate's words: the flag as typed.
function usageMessage(err: Error & { code?: string }): string {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown flag ${flag}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(err.message)
      ? `flag ${flag} needs a value`
      : `flag ${flag} takes no value`;
  }
  return err.message;
}

function splitConfigMap(text: string) {
  const [namespace, ...rest] = text.split('/');
  if (!namespace || rest.length === 0) throw new UsageError('--configmap: expected ns/name[/key]');
  return { namespace: checkCanaryName(namespace, 'namespace', '--configmap'), ref: rest.join('/') };
}

function timeoutOf(text: string): number {
  const ms = parseGoDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new UsageError('--timeout: expected a positive Go duration such as 90s or 10m');
  }
  return ms;
}

// Every flag checked now (before the script is read); the script's source is added last.
function requestOf(
  values: Values,
  k6Args: readonly string[],
  canary: { name: string; namespace: string; flag: string },
): RunPlan['request'] {
  const namespace = checkCanaryName(canary.namespace, 'namespace', '--namespace');
  const secrets = pairs(values.secret, '--secret', 'ENV=ns/secret/key');
  checkEnvMap(secrets, 'kubernetes_secrets', { field: '--secret', fieldOf: () => '--secret' });
  const envVars = pairs(values.env, '--env', 'K=V');
  checkEnvMap(envVars, 'env_vars', { field: '--env', fieldOf: () => '--env' });
  Object.assign(envVars, k6Shortcuts(values));
  const base: Omit<LaunchRequest, 'script' | 'scriptConfigMap'> = {
    name: checkCanaryName(canary.name, 'name', canary.flag),
    namespace,
    phase: 'run',
    checksum: Bun.randomUUIDv7(),
    mode: 'blocking',
    uploadToCloud: values['upload-to-cloud'] ?? false,
    waitForResults: true,
    slackChannels: values['slack-channel'] ?? [],
    notificationContext: '',
    minFailureDelayMs: 0,
    envVars,
    secretRefs: Object.entries(secrets).map(([env, ref]) =>
      parseSecretRef(env, ref, namespace, '--secret'),
    ),
    unknownMetadataKeys: [],
    prometheusRw: true,
    runner: undefined,
    compare: undefined,
    ...(k6Args.length > 0 ? { k6Args } : {}),
    pod: {
      ...NO_POD_OPTIONS,
      labels: checkPodMap(
        pairs(values['pod-label'], '--pod-label', 'K=V'),
        'labels',
        '--pod-label',
      ),
      annotations: checkPodMap(
        pairs(values['pod-annotation'], '--pod-annotation', 'K=V'),
        'annotations',
        '--pod-annotation',
      ),
      parallelism: parseParallelism(values.parallelism, '--parallelism'),
    },
  };
  return (source) => ({
    ...base,
    script: 'script' in source ? source.script : '',
    scriptConfigMap:
      'configMap' in source ? parseConfigMapRef(source.configMap, '--configmap') : undefined,
  });
}

// k6 run's own flags after `--`, as given; k6gate's verdict reads the summary export it asks for.
function checkK6Args(args: readonly string[]): string[] {
  const own = args.find((a) => a === '--summary-export' || a.startsWith('--summary-export='));
  if (own) throw new UsageError(`-- ${own}: k6gate sets --summary-export itself (its verdict)`);
  return [...args];
}

// --vus, --duration, --iterations as k6's environment options (checked here, named as typed).
function k6Shortcuts(values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [flag, env] of [
    ['vus', 'K6_VUS'],
    ['iterations', 'K6_ITERATIONS'],
  ] as const) {
    const text = values[flag];
    if (text === undefined) continue;
    if (!/^[1-9][0-9]{0,6}$/.test(text)) {
      throw new UsageError(`--${flag}: expected a whole number above 0, got "${text}"`);
    }
    out[env] = text;
  }
  if (values.duration !== undefined) {
    const ms = parseGoDuration(values.duration);
    if (ms === undefined || ms <= 0) {
      throw new UsageError(
        `--duration: expected a positive duration such as 30s or 5m, got "${values.duration}"`,
      );
    }
    out.K6_DURATION = values.duration;
  }
  return out;
}

function pairs(items: string[] | undefined, flag: string, shape: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: expected ${shape}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

// A Kubernetes-style name from a file name: "load test.js" → "load-test".
function nameOf(path: string): string {
  const base =
    path === '-' ? 'stdin' : (path.split('/').pop() ?? path).replace(/\.(js|ts|tar)$/, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return name.slice(0, 253) || 'test';
}
