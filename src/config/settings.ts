// Settings: one table (flag, environment variable, default, help, valibot schema) that yields
// the Config type; parse.ts reads argv and the environment through it, help.ts renders `--help`
// and the README table from it. The original's variable names (LISTEN_PORT,
// MAX_CONCURRENT_TESTS, SLACK_TOKEN, …) keep working.

import { tmpdir } from 'node:os';
import * as v from 'valibot';
import { ResourceListSchema, ResourcesSchema } from '../flagger/pod-options.ts';
import { imageEntryProblem } from '../core/image-ref.ts';
import { parseGoDuration } from '../core/go-syntax.ts';
import type { LogLevel } from '../core/log.ts';

const DEFAULT_LISTEN_PORT = 8000;
const DEFAULT_LISTEN_HOST = '0.0.0.0';
const DEFAULT_MAX_CONCURRENT_TESTS = 1000;
const DEFAULT_KILL_GRACE = '15s';
const DEFAULT_START_TIMEOUT = '60s';
const DEFAULT_MAX_RUN_DURATION = '1h';
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_SECRETS_TIMEOUT = '10s';
/** The k6 the image ships (Dockerfile), pinned by digest. */
const DEFAULT_RUNNER_IMAGE =
  'grafana/k6:2.1.0@sha256:65c920dc067d5e2e00befbf982af6ad6ad0117034e8b1c65817c7975c52d4669';

interface Setting<S extends v.GenericSchema<string, unknown> = v.GenericSchema<string, unknown>> {
  flag: string;
  env: string;
  /** The default as text, parsed by the same schema; a function for machine-dependent ones. */
  fallback: string | (() => string);
  help: string;
  expected: string;
  schema: S;
  /** Never printed back (tokens). */
  secret?: boolean;
  /** A systemd credential (LoadCredential=<name>:…) used as this file when neither the flag nor
   * the variable is set and $CREDENTIALS_DIRECTORY/<name> exists. */
  credential?: string;
}

// Keeps each row's own schema type, so Config is inferred from the table.
const setting = <S extends v.GenericSchema<string, unknown>>(row: Setting<S>) => row;

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
/** JSON text through `schema`; empty means none (undefined), text that is not JSON fails it. */
const jsonOf = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(
    v.string(),
    v.transform((text): unknown => {
      if (text.trim() === '') return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return null;
      }
    }),
    v.optional(schema),
  );
/** JSON of Kubernetes resources ({"requests": {…}, "limits": {…}}). */
const resourcesJson = jsonOf(ResourcesSchema);
/** JSON of one Kubernetes resource list ({"cpu": "4", "memory": "8Gi"}). */
const resourceListJson = jsonOf(ResourceListSchema);
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

/** A comma-separated list, trimmed, empties dropped; every item must match `item`. */
const commaList = (item: RegExp) =>
  v.pipe(
    v.string(),
    v.transform((text) =>
      text
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
    ),
    v.check((list) => list.every((g) => item.test(g))),
  );
/** `Name:value` pairs, comma-separated, as k6's K6_PROMETHEUS_RW_HTTP_HEADERS: each name an
 * HTTP token, each value free of CR and LF (a comma always ends a pair). */
const headerList = v.pipe(
  v.string(),
  v.transform((text) =>
    text
      .split(',')
      .map((pair) => pair.trim())
      .filter((pair) => pair !== '')
      .map((pair) => {
        const colon = pair.indexOf(':');
        // No colon: an empty name, which the check below refuses.
        return colon > 0 ? [pair.slice(0, colon).trim(), pair.slice(colon + 1).trim()] : ['', pair];
      }),
  ),
  v.check((pairs) =>
    pairs.every(
      ([name, value]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name!) && !/[\r\n]/.test(value!),
    ),
  ),
  v.transform((pairs) => Object.fromEntries(pairs) as Record<string, string>),
);
/** Comma-separated globs (`team-*`); empty means none given. */
const globList = commaList(/^[a-z0-9*?.-]+$/);
/** Comma-separated label, annotation or taint key globs (`example.com/*`). */
const keyGlobList = commaList(/^[A-Za-z0-9*?./_-]+$/);
const TOKEN_FILE = v.string();

const TABLE = {
  listenPort: setting({
    flag: '--listen-port',
    env: 'LISTEN_PORT',
    fallback: String(DEFAULT_LISTEN_PORT),
    help: 'TCP port to serve on; 0 picks a free port (the "listening" log line has it)',
    expected: 'an integer from 0 to 65535',
    schema: integer(0, 65535),
  }),
  tlsCertFile: setting({
    flag: '--tls-cert-file',
    env: 'TLS_CERT_FILE',
    fallback: '',
    help: 'serve HTTPS with this certificate chain (PEM), with --tls-key-file; re-read when it changes (certbot, cert-manager); empty: plain HTTP',
    expected: 'a file path',
    schema: v.string(),
  }),
  tlsKeyFile: setting({
    flag: '--tls-key-file',
    env: 'TLS_KEY_FILE',
    fallback: '',
    help: "the certificate's private key (PEM), with --tls-cert-file",
    expected: 'a file path',
    schema: v.string(),
  }),
  tlsMinVersion: setting({
    flag: '--tls-min-version',
    env: 'TLS_MIN_VERSION',
    fallback: '1.2',
    help: 'the oldest TLS version the listener accepts: 1.2 or 1.3',
    expected: '1.2 or 1.3',
    schema: v.picklist(['1.2', '1.3'] as const),
  }),
  host: setting({
    flag: '--host',
    env: 'LISTEN_HOST',
    fallback: DEFAULT_LISTEN_HOST,
    help: 'address to bind (0.0.0.0 for all interfaces, 127.0.0.1 for loopback only)',
    expected: 'an IP address or host name',
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:_-]+$/)),
  }),
  maxConcurrentTests: setting({
    flag: '--max-concurrent-tests',
    env: 'MAX_CONCURRENT_TESTS',
    fallback: String(DEFAULT_MAX_CONCURRENT_TESTS),
    help: 'k6 runs allowed at once; more get 429 with Retry-After',
    expected: 'an integer from 1 to 100000',
    schema: integer(1, 100_000),
  }),
  k6Binary: setting({
    flag: '--k6-binary',
    env: 'K6_BINARY',
    fallback: 'k6',
    help: 'k6 executable: a path, or a name looked up on PATH',
    expected: 'a non-empty path',
    schema: v.pipe(v.string(), v.minLength(1)),
  }),
  cloudToken: setting({
    flag: '--cloud-token',
    env: 'K6_CLOUD_TOKEN',
    fallback: '',
    help: 'k6 Cloud token, given to k6 only for runs with upload_to_cloud',
    expected: 'a token',
    schema: v.string(),
    secret: true,
  }),
  cloudTokenFile: setting({
    flag: '--cloud-token-file',
    env: 'K6_CLOUD_TOKEN_FILE',
    fallback: '',
    help: 'read the k6 Cloud token from this file instead of K6_CLOUD_TOKEN',
    expected: 'a file path',
    schema: TOKEN_FILE,
    credential: 'k6-cloud-token',
  }),
  slackToken: setting({
    flag: '--slack-token',
    env: 'SLACK_TOKEN',
    fallback: '',
    help: 'Slack bot token; empty disables Slack notifications',
    expected: 'a token',
    schema: v.string(),
    secret: true,
  }),
  slackTokenFile: setting({
    flag: '--slack-token-file',
    env: 'SLACK_TOKEN_FILE',
    fallback: '',
    help: 'read the Slack token from this file (a mounted Secret) instead of SLACK_TOKEN',
    expected: 'a file path',
    schema: TOKEN_FILE,
    credential: 'slack-token',
  }),
  slackApiUrl: setting({
    flag: '--slack-api-url',
    env: 'SLACK_API_URL',
    fallback: '',
    help: 'Slack Web API base URL (ending in /api/); empty means https://slack.com/api/',
    expected: 'an http(s) URL or empty',
    schema: v.union([v.literal(''), v.pipe(v.string(), v.url(), v.regex(/^https?:\/\//))]),
  }),
  kubernetesClient: setting({
    flag: '--kubernetes-client',
    env: 'KUBERNETES_CLIENT',
    fallback: 'none',
    help: 'Kubernetes client for kubernetes_secrets, script_configmap, Canary events and the pod runners: none, in-cluster or kubeconfig',
    expected: 'one of none, in-cluster, kubeconfig',
    schema: v.picklist(['none', 'in-cluster', 'kubeconfig'] as const),
  }),
  kubeconfig: setting({
    flag: '--kubeconfig',
    env: 'KUBECONFIG',
    fallback: '',
    help: 'kubeconfig file for --kubernetes-client=kubeconfig (default ~/.kube/config)',
    expected: 'a file path',
    schema: v.string(),
  }),
  secretsTimeoutMs: setting({
    flag: '--secrets-timeout',
    env: 'SECRETS_TIMEOUT',
    fallback: DEFAULT_SECRETS_TIMEOUT,
    help: 'how long to wait for the Kubernetes API when fetching secrets',
    expected: 'a positive Go duration such as 10s',
    schema: duration(false),
  }),
  logLevel: setting({
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
  }),
  logFormat: setting({
    flag: '--log-format',
    env: 'LOG_FORMAT',
    fallback: 'json',
    help: 'json (one object per line) or text',
    expected: 'json or text',
    schema: v.picklist(['json', 'text'] as const),
  }),
  killGraceMs: setting({
    flag: '--kill-grace-period',
    env: 'KILL_GRACE_PERIOD',
    fallback: DEFAULT_KILL_GRACE,
    help: 'after SIGTERM, how long k6 may take to stop before SIGKILL',
    expected: 'a Go duration such as 15s',
    schema: duration(true),
  }),
  startTimeoutMs: setting({
    flag: '--start-timeout',
    env: 'START_TIMEOUT',
    fallback: DEFAULT_START_TIMEOUT,
    help: 'how long k6 may take to print its "output:" banner line',
    expected: 'a positive Go duration such as 60s',
    schema: duration(false),
  }),
  reattachGraceMs: setting({
    flag: '--reattach-grace',
    env: 'REATTACH_GRACE',
    fallback: '10s',
    help: "when a waiting caller goes away (Flagger's client timeout), how long its run goes on for the retry to attach to it before it is stopped; 0 stops it at once",
    expected: 'a Go duration such as 10s, or 0',
    schema: duration(true),
  }),
  statefulTtlMs: setting({
    flag: '--stateful-ttl',
    env: 'STATEFUL_TTL',
    fallback: '1h',
    help: 'how long a stateful hook (metadata mode: stateful) keeps answering with its verdict after the run ended; pod runs keep their run object as long',
    expected: 'a Go duration such as 1h',
    schema: duration(false),
  }),
  progressIntervalMs: setting({
    flag: '--progress-interval',
    env: 'PROGRESS_INTERVAL',
    fallback: '30s',
    help: 'while a run goes on, log a "still running" line with k6\'s last progress line this often; 0 disables',
    expected: 'a Go duration such as 30s, or 0',
    schema: duration(true),
  }),
  maxRunMs: setting({
    flag: '--max-run-duration',
    env: 'MAX_RUN_DURATION',
    fallback: DEFAULT_MAX_RUN_DURATION,
    help: 'hard limit on one run, then it is stopped and fails; 0 means no limit',
    expected: 'a Go duration such as 1h, or 0',
    schema: duration(true),
  }),
  maxOutputBytes: setting({
    flag: '--max-output-bytes',
    env: 'MAX_OUTPUT_BYTES',
    fallback: String(DEFAULT_MAX_OUTPUT_BYTES),
    help: 'k6 output kept per run (head and tail) for answers, logs and Slack',
    expected: 'an integer from 1024 to 1073741824',
    schema: integer(1024, 1024 ** 3),
  }),
  maxBodyBytes: setting({
    flag: '--max-body-bytes',
    env: 'MAX_BODY_BYTES',
    fallback: String(DEFAULT_MAX_BODY_BYTES),
    help: 'largest request body accepted; larger ones get 413',
    expected: 'an integer from 1024 to 134217728',
    schema: integer(1024, 128 * 1024 ** 2),
  }),
  tempDir: setting({
    flag: '--temp-dir',
    env: 'TEMP_DIR',
    fallback: () => tmpdir(),
    help: 'where per-run directories are made (each removed after its run; at start, those a k6gate no longer running left)',
    expected: 'a directory path',
    schema: v.pipe(v.string(), v.minLength(1)),
  }),
  runCgroup: setting({
    flag: '--run-cgroup',
    env: 'RUN_CGROUP',
    fallback: 'auto',
    help: "where each local run gets a cgroup v2 of its own, killed whole when the run ends: auto (k6gate's own cgroup when delegated to it, e.g. systemd Delegate=yes), off, or a cgroup v2 directory k6gate may write. Without one, sweeps end what a run leaves behind",
    expected: 'auto, off or a cgroup v2 directory path',
    schema: v.pipe(v.string(), v.regex(/^(auto|off|\/\S*)$/)),
  }),
  authFile: setting({
    flag: '--auth-file',
    env: 'AUTH_FILE',
    fallback: '',
    help: 'YAML file of clients (name, token, namespaces); when set, /launch-test needs Basic or Bearer auth. Re-read when it changes',
    expected: 'a file path',
    schema: v.string(),
    credential: 'auth.yaml',
  }),
  allowedNamespaces: setting({
    flag: '--allowed-namespaces',
    env: 'ALLOWED_NAMESPACES',
    fallback: '',
    help: 'comma-separated globs of canary namespaces that may run tests; empty allows all',
    expected: 'namespace globs such as "team-a,team-b-*"',
    schema: globList,
  }),
  secretsNamespaces: setting({
    flag: '--secrets-namespaces',
    env: 'SECRETS_NAMESPACES',
    fallback: '',
    help: "globs of namespaces kubernetes_secrets may read besides the canary's own",
    expected: 'namespace globs such as "shared-secrets"',
    schema: globList,
  }),
  maxSecretRefs: setting({
    flag: '--max-secret-refs',
    env: 'MAX_SECRET_REFS',
    fallback: '32',
    help: 'most kubernetes_secrets entries one request may name',
    expected: 'an integer from 0 to 1000',
    schema: integer(0, 1000),
  }),
  slackAllowedChannels: setting({
    flag: '--slack-allowed-channels',
    env: 'SLACK_ALLOWED_CHANNELS',
    fallback: '',
    help: 'comma-separated Slack channels (names or IDs) runs may post to; empty allows any',
    expected: 'channel names or IDs',
    schema: v.pipe(
      v.string(),
      v.transform((text) =>
        text
          .split(',')
          .map((c) => c.trim().replace(/^#/, ''))
          .filter((c) => c !== ''),
      ),
    ),
  }),
  prometheusRwUrl: setting({
    flag: '--prometheus-rw-url',
    env: 'PROMETHEUS_RW_URL',
    fallback: '',
    help: 'Prometheus remote-write URL: every run sends its metrics there, tagged testid=<namespace>/<name>/<run id> (metadata prometheus_rw "false" opts out); empty disables',
    expected: 'an http(s) URL such as http://prometheus:9090/api/v1/write',
    schema: v.pipe(v.string(), v.regex(/^$|^https?:\/\/\S+$/)),
  }),
  prometheusRwBearerToken: setting({
    flag: '--prometheus-rw-bearer-token',
    env: 'PROMETHEUS_RW_BEARER_TOKEN',
    fallback: '',
    help: 'bearer token local runs send with remote write (Grafana Cloud, Mimir behind a gateway); prefer the file',
    expected: 'a token',
    schema: v.string(),
    secret: true,
  }),
  prometheusRwBearerTokenFile: setting({
    flag: '--prometheus-rw-bearer-token-file',
    env: 'PROMETHEUS_RW_BEARER_TOKEN_FILE',
    fallback: '',
    help: 'read the remote-write bearer token from this file (a mounted Secret)',
    expected: 'a file path',
    schema: TOKEN_FILE,
    credential: 'prometheus-rw-bearer-token',
  }),
  prometheusRwUsername: setting({
    flag: '--prometheus-rw-username',
    env: 'PROMETHEUS_RW_USERNAME',
    fallback: '',
    help: 'basic-auth user local runs send with remote write (Grafana Cloud: the instance ID); the password from --prometheus-rw-password-file',
    expected: 'a user name',
    schema: v.pipe(v.string(), v.regex(/^[^:\s]*$/)),
  }),
  prometheusRwPassword: setting({
    flag: '--prometheus-rw-password',
    env: 'PROMETHEUS_RW_PASSWORD',
    fallback: '',
    help: 'basic-auth password (an API token) local runs send with remote write; prefer the file',
    expected: 'a password',
    schema: v.string(),
    secret: true,
  }),
  prometheusRwPasswordFile: setting({
    flag: '--prometheus-rw-password-file',
    env: 'PROMETHEUS_RW_PASSWORD_FILE',
    fallback: '',
    help: 'read the remote-write basic-auth password (an API token) from this file',
    expected: 'a file path',
    schema: TOKEN_FILE,
    credential: 'prometheus-rw-password',
  }),
  prometheusRwHeaders: setting({
    flag: '--prometheus-rw-headers',
    env: 'PROMETHEUS_RW_HEADERS',
    fallback: '',
    help: 'extra remote-write headers as Name:value pairs, comma-separated (X-Scope-OrgID:team-a for multi-tenant Mimir)',
    expected: 'Name:value pairs such as X-Scope-OrgID:team-a',
    schema: headerList,
  }),
  prometheusRwNativeHistograms: setting({
    flag: '--prometheus-rw-native-histograms',
    env: 'PROMETHEUS_RW_NATIVE_HISTOGRAMS',
    fallback: 'false',
    help: "send k6's trends as native histograms (the receiver must accept them: Prometheus --enable-feature=native-histograms, Mimir)",
    expected: 'true or false',
    schema: v.pipe(
      v.picklist(['true', 'false']),
      v.transform((t) => t === 'true'),
    ),
  }),
  grafanaUrl: setting({
    flag: '--grafana-url',
    env: 'GRAFANA_URL',
    fallback: '',
    help: "URL of the k6 Prometheus dashboard (Grafana 19665) as imported in your Grafana: answers and Slack link to it filtered on the run's testid",
    expected: 'an http(s) URL such as https://grafana.example/d/k6/k6-prometheus',
    schema: v.pipe(v.string(), v.regex(/^$|^https?:\/\/\S+$/)),
  }),
  runner: setting({
    flag: '--runner',
    env: 'RUNNER',
    fallback: 'local',
    help: 'where a run happens when its metadata names no runner: local (a child process), job (one Kubernetes Job per run) or k6-operator (a TestRun over N runner pods); pod runners need --kubernetes-client',
    expected: 'local, job or k6-operator',
    schema: v.picklist(['local', 'job', 'k6-operator'] as const),
  }),
  maxParallelism: setting({
    flag: '--max-parallelism',
    env: 'MAX_PARALLELISM',
    fallback: '50',
    help: 'most runner pods one k6-operator run may ask for (metadata parallelism)',
    expected: 'an integer from 1 to 1000',
    schema: integer(1, 1000),
  }),
  maxConcurrentPodRuns: setting({
    flag: '--max-concurrent-pod-runs',
    env: 'MAX_CONCURRENT_POD_RUNS',
    fallback: '20',
    help: 'job and k6-operator runs allowed at once (counted apart from local runs); more get 429',
    expected: 'an integer from 1 to 100000',
    schema: integer(1, 100_000),
  }),
  runnersAllowed: setting({
    flag: '--runners-allowed',
    env: 'RUNNERS_ALLOWED',
    fallback: '',
    help: 'comma-separated runners a request may use (metadata runner, or --runner): local, job, k6-operator. Empty: local without --kubernetes-client; with one, job and k6-operator only (a local script runs as k6gate and can read what k6gate can, the service account token included), so local must be listed to be used',
    expected: 'a comma-separated list of local, job and k6-operator',
    schema: commaList(/^(local|job|k6-operator)$/),
  }),
  secretsAllowed: setting({
    flag: '--secrets-allowed',
    env: 'SECRETS_ALLOWED',
    fallback: '*',
    help: "comma-separated Secret name globs metadata kubernetes_secrets may name, for every runner (a pod run gets them by reference, outside k6gate's RBAC); empty allows none",
    expected: 'Secret name globs such as "k6-*,loadtest-creds"',
    schema: globList,
  }),
  runnerImagesAllowed: setting({
    flag: '--runner-images-allowed',
    env: 'RUNNER_IMAGES_ALLOWED',
    fallback: '',
    help: 'comma-separated images a request may pick with metadata runner_image: a repository admits its tags and digests (grafana/k6 admits grafana/k6:2.1.0, never grafana/k6-evil), a reference with a tag or digest only itself, registry.example/k6/* any repository one level under it; empty allows none',
    expected: 'repositories such as "grafana/k6,registry.example/k6/*"',
    schema: v.pipe(
      commaList(/^[A-Za-z0-9][A-Za-z0-9./:@_*-]*$/),
      v.check((list) => list.every((e) => imageEntryProblem(e) === undefined)),
    ),
  }),
  runnerLabelKeysAllowed: setting({
    flag: '--runner-label-keys-allowed',
    env: 'RUNNER_LABEL_KEYS_ALLOWED',
    fallback: '',
    help: 'comma-separated label key globs metadata runner_labels may set on runner pods; empty refuses the option (a label such as app: podinfo-primary would join a Service)',
    expected: 'label key globs such as "team,example.com/*"',
    schema: keyGlobList,
  }),
  runnerAnnotationKeysAllowed: setting({
    flag: '--runner-annotation-keys-allowed',
    env: 'RUNNER_ANNOTATION_KEYS_ALLOWED',
    fallback: '',
    help: 'comma-separated annotation key globs metadata runner_annotations may set; empty refuses the option',
    expected: 'annotation key globs such as "prometheus.io/*"',
    schema: keyGlobList,
  }),
  nodeSelectorKeysAllowed: setting({
    flag: '--node-selector-keys-allowed',
    env: 'NODE_SELECTOR_KEYS_ALLOWED',
    fallback: '',
    help: 'comma-separated node label key globs metadata node_selector may use; empty refuses the option',
    expected: 'label key globs such as "pool,topology.kubernetes.io/zone"',
    schema: keyGlobList,
  }),
  tolerationKeysAllowed: setting({
    flag: '--toleration-keys-allowed',
    env: 'TOLERATION_KEYS_ALLOWED',
    fallback: '',
    help: 'comma-separated taint key globs metadata tolerations may tolerate (operator Exists without a key is always refused); empty refuses the option',
    expected: 'taint key globs such as "loadtest"',
    schema: keyGlobList,
  }),
  maxRunnerResources: setting({
    flag: '--max-runner-resources',
    env: 'MAX_RUNNER_RESOURCES',
    fallback: '{"cpu": "4", "memory": "8Gi", "ephemeral-storage": "10Gi"}',
    help: 'the most one runner pod may request or be limited to (metadata runner_resources), per resource, as JSON; empty: no ceiling',
    expected: 'JSON such as {"cpu": "4", "memory": "8Gi"}',
    schema: resourceListJson,
  }),
  runnerResources: setting({
    flag: '--runner-resources',
    env: 'RUNNER_RESOURCES',
    fallback: '',
    help: 'resources of runner pods when a request names none (metadata runner_resources), as JSON',
    expected:
      'JSON such as {"requests": {"cpu": "1", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}',
    schema: resourcesJson,
  }),
  runSigningKeyFile: setting({
    flag: '--run-signing-key-file',
    env: 'RUN_SIGNING_KEY_FILE',
    fallback: '',
    help: "a file holding the key that signs the Jobs and TestRuns k6gate makes and their recorded verdicts (at least 32 bytes; the chart keeps one in a Secret). Replicas and restarts must share it to attach to each other's runs; empty: a random key per process",
    expected: 'a file path',
    schema: TOKEN_FILE,
    credential: 'run-signing-key',
  }),
  runnerServiceAccount: setting({
    flag: '--runner-service-account',
    env: 'RUNNER_SERVICE_ACCOUNT',
    fallback: '',
    help: "the service account of runner pods (its token is never mounted); empty: the namespace's default",
    expected: 'a service account name',
    schema: v.pipe(v.string(), v.regex(/^$|^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/)),
  }),
  runnerImage: setting({
    flag: '--runner-image',
    env: 'RUNNER_IMAGE',
    fallback: DEFAULT_RUNNER_IMAGE,
    help: 'the k6 image pod runners use',
    expected: 'an image reference',
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9./:@_-]*$/)),
  }),
  store: setting({
    flag: '--store',
    env: 'STORE',
    fallback: 'memory',
    help: 'where run records and gate state live: memory (gone with the process), sqlite:<path> (a file that outlives restarts; one replica) or postgres://user:password@host/db (shared by every replica)',
    expected: 'memory, sqlite:<path> (e.g. sqlite:/var/lib/k6gate/k6gate.db) or a postgres:// URL',
    schema: v.pipe(v.string(), v.regex(/^(memory|sqlite:\S+|postgres(ql)?:\/\/\S+)$/)),
    secret: true,
  }),
  shutdownTimeoutMs: setting({
    flag: '--shutdown-timeout',
    env: 'SHUTDOWN_TIMEOUT',
    fallback: '30s',
    help: 'on SIGTERM, longest wait for open connections after runs were stopped',
    expected: 'a Go duration such as 30s',
    schema: duration(true),
  }),
} as const;

type Table = typeof TABLE;
export type Config = { [K in keyof Table]: v.InferOutput<Table[K]['schema']> };

/** Every setting, in --help order. */
export const SETTINGS = Object.entries(TABLE).map(([key, row]) => ({
  key: key as keyof Config,
  ...(row as Setting),
}));

// One object schema over the whole table: its output type is Config, with no cast.
export const CONFIG_SCHEMA = v.object(
  Object.fromEntries(SETTINGS.map((s) => [s.key, s.schema])) as {
    [K in keyof Table]: Table[K]['schema'];
  },
);
