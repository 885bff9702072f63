// How k6 is invoked: its argv, and the child's environment — the caller's env_vars and
// secrets first, then what k6gate itself sets (so nothing the caller sends can override it),
// plus the few daemon variables k6 needs (locale, time zone). The daemon's own secrets never pass.
// Also the names a caller may not set: those that change where k6 sends data or what it loads.

/** Variables copied from the daemon's environment when set (locale, CAs, the operator's proxy). */
const PASSTHROUGH_ENV = [
  'TZ',
  'LANG',
  'LC_ALL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
] as const;

/** Names env_vars and kubernetes_secrets may not set (exact, case-sensitive). */
const RESERVED_NAMES = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'PWD',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GODEBUG',
  'GOFLAGS',
  'K6_OUT',
  'K6_CONFIG',
  'K6_ADDRESS',
  'K6_LOG_OUTPUT',
  'K6_SUMMARY_EXPORT',
  'K6_PROFILING_ENABLED',
  'K6_NO_USAGE_REPORT',
  'K6_AUTO_EXTENSION_RESOLUTION',
  'K6_ENABLE_COMMUNITY_EXTENSIONS',
  'K6_BINARY_PROVISIONING',
  'K6_BUILD_SERVICE_URL',
  'K6_TRACES_OUTPUT',
  'K6_SECRET_SOURCE',
  'K6_HANDLE_SUMMARY_TIMEOUT',
  // k6 reads its config file (outputs, among others) from here.
  'XDG_CONFIG_HOME',
  // A browser test's executable and its arguments: any program, any flags.
  'K6_BROWSER_EXECUTABLE_PATH',
  'K6_BROWSER_ARGS',
  // Thresholds off: every run would pass.
  'K6_NO_THRESHOLDS',
]);
/** Prefixes reserved whole: the loader, every output's settings, k6 Cloud, and k6gate's own. */
const RESERVED_PREFIXES = [
  'LD_',
  'K6_CLOUD_',
  'K6_PROMETHEUS_RW_',
  'K6_INFLUXDB_',
  'K6_STATSD_',
  'K6_DATADOG_',
  'K6_KAFKA_',
  'K6_OTEL_',
  'K6_JSON_',
  'K6_CSV_',
  'K6_WEB_DASHBOARD',
  'K6GATE_',
];
/** Proxies are honoured in any case (`https_proxy` too): they could intercept k6 Cloud uploads. */
const RESERVED_ANY_CASE = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY']);

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a caller may not set `name`, or undefined when it may. A per-run K6_CLOUD_TOKEN may come
 * from a Secret of the canary's namespace (kubernetes_secrets), never as plain env_vars. */
export function reservedEnvReason(
  name: string,
  from: 'env_vars' | 'kubernetes_secrets' = 'env_vars',
): string | undefined {
  if (from === 'kubernetes_secrets' && name === 'K6_CLOUD_TOKEN') return undefined;
  if (RESERVED_NAMES.has(name) || RESERVED_ANY_CASE.has(name.toUpperCase())) {
    return 'is set by k6gate or changes where k6 sends data or what it loads';
  }
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `starts with ${prefix}, which k6gate reserves (k6 outputs, k6 Cloud, loader)`;
  return undefined;
}

/** What k6gate sets for every k6 it starts, local or in a pod: no usage report to Grafana, no
 * binary provisioning for `k6/x/…` imports. */
export const K6_ENV_BY_K6GATE = {
  K6_NO_USAGE_REPORT: 'true',
  K6_AUTO_EXTENSION_RESOLUTION: 'false',
} as const;

export interface ChildEnvInput {
  /** The daemon's environment (main.ts passes process.env). */
  daemonEnv: Readonly<Record<string, string | undefined>>;
  /** PATH for the child (the daemon's). */
  path: string;
  /** The run's private directory: HOME and TMPDIR point there, so k6's files go with it. */
  runDir: string;
  runId: string;
  uploadToCloud: boolean;
  cloudToken: string;
  envVars: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
  prometheusRw?: K6Outputs['prometheusRw'];
}

export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  // As the original, a secret overrides an env_vars entry of the same name.
  const env: Record<string, string> = { ...input.envVars, ...input.secrets };
  for (const name of PASSTHROUGH_ENV) {
    const value = input.daemonEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH = input.path;
  env.HOME = input.runDir;
  env.TMPDIR = input.runDir;
  Object.assign(env, K6_ENV_BY_K6GATE, outputEnv(input));
  // Marks every descendant of this run, so one that escapes its process group is still found.
  env.K6GATE_RUN_ID = input.runId;
  // The daemon's cloud token only when uploading, and not over a per-run one from a Secret.
  const perRunToken = input.secrets.K6_CLOUD_TOKEN !== undefined;
  if (input.uploadToCloud && input.cloudToken !== '' && !perRunToken)
    env.K6_CLOUD_TOKEN = input.cloudToken;
  return env;
}

/** Prometheus remote write for one run: the receiver, the run's `testid` tag, extra headers,
 * trends as native histograms, and the credentials (sent by local runs only: in a pod run they
 * would sit in the Job's spec, readable by whoever may read Jobs in the namespace). */
export interface RemoteWrite {
  url: string;
  testId: string;
  headers?: Readonly<Record<string, string>>;
  nativeHistograms?: boolean;
  auth?: { bearerToken?: string; username?: string; password?: string };
}

/** Where a run's metrics go besides k6's own summary. */
export interface K6Outputs {
  uploadToCloud: boolean;
  /** Prometheus remote write: the receiver's URL and the run's `testid` tag. */
  prometheusRw?: RemoteWrite | undefined;
  /** Where k6 writes its JSON summary (local runs: thresholds for JSON verdicts). */
  summaryExport?: string | undefined;
}

/** The trend stats remote write sends: what the k6 Prometheus dashboard (Grafana 19665) shows. */
const RW_TREND_STATS = 'p(95),p(99),min,max';

/** The output flags: `--out cloud`, and remote write tagged with the run's testid. */
function outputArgs(outputs: K6Outputs): string[] {
  const rw = outputs.prometheusRw;
  return [
    ...(outputs.uploadToCloud ? ['--out', 'cloud'] : []),
    ...(rw ? ['--out', 'experimental-prometheus-rw', '--tag', `testid=${rw.testId}`] : []),
    ...(outputs.summaryExport ? ['--summary-export', outputs.summaryExport] : []),
  ];
}

type RunFlagsInput = K6Outputs & { k6Args?: readonly string[] | undefined };

/** The flags of `k6 run` before the script: the outputs, then `k6gate run`'s flags after `--`
 * (`k6Args`). A TestRun carries them as its `arguments`. */
export function runFlags(input: RunFlagsInput): string[] {
  return [...outputArgs(input), ...(input.k6Args ?? [])];
}

/** k6's argv: `run [--out cloud] [--out experimental-prometheus-rw --tag testid=…] [k6Args…]
 * <script>`, the same in k6 v1 and v2. */
export function buildK6Args(scriptPath: string, input: RunFlagsInput): string[] {
  return ['run', ...runFlags(input), scriptPath];
}

/** The env remote write needs (K6_PROMETHEUS_RW_ is reserved: callers cannot set it); the
 * credentials only with `withAuth` (local runs). */
export function outputEnv(outputs: K6Outputs, withAuth = true): Record<string, string> {
  const rw = outputs.prometheusRw;
  if (!rw) return {};
  const env: Record<string, string> = {
    K6_PROMETHEUS_RW_SERVER_URL: rw.url,
    K6_PROMETHEUS_RW_TREND_STATS: RW_TREND_STATS,
  };
  const headers = Object.entries(rw.headers ?? {});
  if (headers.length > 0) {
    env.K6_PROMETHEUS_RW_HTTP_HEADERS = headers.map(([k, v]) => `${k}:${v}`).join(',');
  }
  if (rw.nativeHistograms) env.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM = 'true';
  if (!withAuth) return env;
  const auth = rw.auth ?? {};
  if (auth.bearerToken) env.K6_PROMETHEUS_RW_BEARER_TOKEN = auth.bearerToken;
  if (auth.username) {
    env.K6_PROMETHEUS_RW_USERNAME = auth.username;
    env.K6_PROMETHEUS_RW_PASSWORD = auth.password ?? '';
  }
  return env;
}
