// Settings: one table (flag, environment variable, default, help, valibot schema) that yields
// the typed config and `--help`. Flags win over environment variables, which win over defaults.
// The original's variable names (LISTEN_PORT, MAX_CONCURRENT_TESTS, SLACK_TOKEN, …) keep working.

import { tmpdir } from 'node:os';
import * as v from 'valibot';
import { parseGoDuration } from './flagger/go-syntax.ts';
import type { LogFormat, LogLevel } from './log.ts';

export const DEFAULT_LISTEN_PORT = 8000;
export const DEFAULT_LISTEN_HOST = '0.0.0.0';
export const DEFAULT_MAX_CONCURRENT_TESTS = 1000;
export const DEFAULT_KILL_GRACE = '15s';
export const DEFAULT_START_TIMEOUT = '60s';
export const DEFAULT_MAX_RUN_DURATION = '1h';
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_SECRETS_TIMEOUT = '10s';

export type KubernetesClientMode = 'none' | 'in-cluster' | 'kubeconfig';

export interface Config {
  listenPort: number;
  host: string;
  maxConcurrentTests: number;
  k6Binary: string;
  cloudToken: string;
  slackToken: string;
  slackApiUrl: string;
  kubernetesClient: KubernetesClientMode;
  kubeconfig: string;
  secretsTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  killGraceMs: number;
  startTimeoutMs: number;
  maxRunMs: number;
  maxOutputBytes: number;
  maxBodyBytes: number;
  tempDir: string;
}

interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  /** The default as text, parsed by the same schema; a function for machine-dependent ones. */
  fallback: string | (() => string);
  help: string;
  expected: string;
  schema: v.GenericSchema<string, unknown>;
  /** Never printed back (tokens). */
  secret?: boolean;
}

const duration = (allowZero: boolean) =>
  v.pipe(
    v.string(),
    v.transform((text) => parseGoDuration(text) ?? Number.NaN),
    v.check((ms) => Number.isFinite(ms) && (allowZero ? ms >= 0 : ms > 0)),
  );
const integer = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/),
    v.transform(Number),
    v.number(),
    v.minValue(min),
    v.maxValue(max),
  );
const LOG_LEVELS: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'error',
  panic: 'error',
};

export const SETTINGS: readonly Setting[] = [
  {
    key: 'listenPort',
    flag: '--listen-port',
    env: 'LISTEN_PORT',
    fallback: String(DEFAULT_LISTEN_PORT),
    help: 'TCP port to serve on; 0 picks a free port (the "listening" log line has it)',
    expected: 'an integer from 0 to 65535',
    schema: integer(0, 65535),
  },
  {
    key: 'host',
    flag: '--host',
    env: 'LISTEN_HOST',
    fallback: DEFAULT_LISTEN_HOST,
    help: 'address to bind (0.0.0.0 for all interfaces, 127.0.0.1 for loopback only)',
    expected: 'an IP address or host name',
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:_-]+$/)),
  },
  {
    key: 'maxConcurrentTests',
    flag: '--max-concurrent-tests',
    env: 'MAX_CONCURRENT_TESTS',
    fallback: String(DEFAULT_MAX_CONCURRENT_TESTS),
    help: 'k6 runs allowed at once; more get 429 with Retry-After',
    expected: 'an integer from 1 to 100000',
    schema: integer(1, 100_000),
  },
  {
    key: 'k6Binary',
    flag: '--k6-binary',
    env: 'K6_BINARY',
    fallback: 'k6',
    help: 'k6 executable: a path, or a name looked up on PATH',
    expected: 'a non-empty path',
    schema: v.pipe(v.string(), v.minLength(1)),
  },
  {
    key: 'cloudToken',
    flag: '--cloud-token',
    env: 'K6_CLOUD_TOKEN',
    fallback: '',
    help: 'k6 Cloud token, given to k6 only for runs with upload_to_cloud',
    expected: 'a token',
    schema: v.string(),
    secret: true,
  },
  {
    key: 'slackToken',
    flag: '--slack-token',
    env: 'SLACK_TOKEN',
    fallback: '',
    help: 'Slack bot token; empty disables Slack notifications',
    expected: 'a token',
    schema: v.string(),
    secret: true,
  },
  {
    key: 'slackApiUrl',
    flag: '--slack-api-url',
    env: 'SLACK_API_URL',
    fallback: '',
    help: 'Slack Web API base URL (ending in /api/); empty means https://slack.com/api/',
    expected: 'an http(s) URL or empty',
    schema: v.union([v.literal(''), v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//))]),
  },
  {
    key: 'kubernetesClient',
    flag: '--kubernetes-client',
    env: 'KUBERNETES_CLIENT',
    fallback: 'none',
    help: 'Kubernetes client for kubernetes_secrets: none, in-cluster or kubeconfig',
    expected: 'one of none, in-cluster, kubeconfig',
    schema: v.picklist(['none', 'in-cluster', 'kubeconfig']),
  },
  {
    key: 'kubeconfig',
    flag: '--kubeconfig',
    env: 'KUBECONFIG',
    fallback: '',
    help: 'kubeconfig file for --kubernetes-client=kubeconfig (default ~/.kube/config)',
    expected: 'a file path',
    schema: v.string(),
  },
  {
    key: 'secretsTimeoutMs',
    flag: '--secrets-timeout',
    env: 'SECRETS_TIMEOUT',
    fallback: DEFAULT_SECRETS_TIMEOUT,
    help: 'how long to wait for the Kubernetes API when fetching secrets',
    expected: 'a positive Go duration such as 10s',
    schema: duration(false),
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'LOG_LEVEL',
    fallback: 'info',
    help: 'trace, debug, info, warn or error (warning, fatal and panic are accepted too)',
    expected: 'one of trace, debug, info, warn, warning, error, fatal, panic',
    schema: v.pipe(
      v.string(),
      v.transform((s) => LOG_LEVELS[s.toLowerCase()]),
      v.picklist(Object.values(LOG_LEVELS)),
    ),
  },
  {
    key: 'logFormat',
    flag: '--log-format',
    env: 'LOG_FORMAT',
    fallback: 'json',
    help: 'json (one object per line) or text',
    expected: 'json or text',
    schema: v.picklist(['json', 'text']),
  },
  {
    key: 'killGraceMs',
    flag: '--kill-grace-period',
    env: 'KILL_GRACE_PERIOD',
    fallback: DEFAULT_KILL_GRACE,
    help: 'after SIGTERM, how long k6 may take to stop before SIGKILL',
    expected: 'a Go duration such as 15s',
    schema: duration(true),
  },
  {
    key: 'startTimeoutMs',
    flag: '--start-timeout',
    env: 'START_TIMEOUT',
    fallback: DEFAULT_START_TIMEOUT,
    help: 'how long k6 may take to print its "output:" banner line',
    expected: 'a positive Go duration such as 60s',
    schema: duration(false),
  },
  {
    key: 'maxRunMs',
    flag: '--max-run-duration',
    env: 'MAX_RUN_DURATION',
    fallback: DEFAULT_MAX_RUN_DURATION,
    help: 'hard limit on one run, then it is stopped and fails; 0 means no limit',
    expected: 'a Go duration such as 1h, or 0',
    schema: duration(true),
  },
  {
    key: 'maxOutputBytes',
    flag: '--max-output-bytes',
    env: 'MAX_OUTPUT_BYTES',
    fallback: String(DEFAULT_MAX_OUTPUT_BYTES),
    help: 'k6 output kept per run (head and tail) for answers, logs and Slack',
    expected: 'an integer from 1024 to 1073741824',
    schema: integer(1024, 1024 ** 3),
  },
  {
    key: 'maxBodyBytes',
    flag: '--max-body-bytes',
    env: 'MAX_BODY_BYTES',
    fallback: String(DEFAULT_MAX_BODY_BYTES),
    help: 'largest request body accepted; larger ones get 413',
    expected: 'an integer from 1024 to 134217728',
    schema: integer(1024, 128 * 1024 ** 2),
  },
  {
    key: 'tempDir',
    flag: '--temp-dir',
    env: 'TEMP_DIR',
    fallback: () => tmpdir(),
    help: 'where per-run directories are made',
    expected: 'a directory path',
    schema: v.pipe(v.string(), v.minLength(1)),
  },
];

export class ConfigError extends Error {}

export type Command = 'serve' | 'help' | 'version';

export interface ParsedArgs {
  command: Command;
  config: Config;
}

const COMMANDS = new Set(['serve']);

/** Reads argv (after the program name) and the environment into a Config, or throws ConfigError. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs {
  const flagValues = new Map<string, string>();
  let command: Command = 'serve';
  const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h' || arg === 'help')
      return { command: 'help', config: {} as Config };
    if (arg === '--version' || arg === '-v' || arg === 'version') {
      return { command: 'version', config: {} as Config };
    }
    if (!arg.startsWith('-')) {
      if (i === 0 && COMMANDS.has(arg)) continue;
      throw new ConfigError(`unknown command or argument "${arg}" (see k6gate --help)`);
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const setting = byFlag.get(flag);
    if (!setting) throw new ConfigError(`unknown flag ${flag} (see k6gate --help)`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
      if (value === undefined) throw new ConfigError(`flag ${flag} needs a value`);
    }
    flagValues.set(setting.key, value);
  }
  const config: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromFlag = flagValues.get(s.key);
    const fromEnv = env[s.env];
    const raw =
      fromFlag ?? fromEnv ?? (typeof s.fallback === 'function' ? s.fallback() : s.fallback);
    const source = fromFlag !== undefined ? s.flag : fromEnv !== undefined ? s.env : 'default';
    const parsed = v.safeParse(s.schema, raw);
    if (!parsed.success) {
      const shown = s.secret ? '(hidden)' : JSON.stringify(raw);
      throw new ConfigError(
        `invalid value for ${s.flag} / ${s.env} (from ${source}): ${shown}; expected ${s.expected}`,
      );
    }
    config[s.key] = parsed.output;
  }
  return { command, config: config as unknown as Config };
}

/** `--help`, generated from the settings table so it cannot drift. */
export function renderHelp(version: string): string {
  const lines = [
    `k6gate ${version}: gate Kubernetes releases on k6 load tests (a Flagger webhook).`,
    '',
    'Usage:',
    '  k6gate [serve] [flags]   serve Flagger webhooks (POST /launch-test) over HTTP',
    '  k6gate --help            show this help',
    '  k6gate --version         print the version',
    '',
    'Flags (each also read from the environment variable shown; a flag wins):',
  ];
  for (const s of SETTINGS) {
    const fallback = typeof s.fallback === 'function' ? 'TMPDIR or /tmp' : s.fallback;
    lines.push(
      `  ${s.flag} <value>`.padEnd(34) + `${s.env}`,
      `      ${s.help}${fallback === '' ? '' : ` (default: ${fallback})`}`,
    );
  }
  lines.push(
    '',
    'Routes: POST /launch-test, GET /health, GET /healthz, GET /readyz, GET /metrics.',
    'Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a fatal error, 2 on bad settings.',
    '',
  );
  return lines.join('\n');
}

/** The README's settings table, generated from the same table (a test keeps them in sync). */
export function renderSettingsMarkdown(): string {
  const rows = SETTINGS.map((s) => {
    const fallback =
      typeof s.fallback === 'function'
        ? 'TMPDIR or /tmp'
        : s.fallback === ''
          ? '(empty)'
          : s.fallback;
    return `| \`${s.flag}\` | \`${s.env}\` | \`${fallback}\` | ${s.help} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
