// `k6gate run`: one gate from a shell (a VM, a bastion, a CI job). The flags become the metadata
// Flagger would send, checked by the same validation, and the run goes through the same launch
// service as a webhook (admission, runners, supervision, verdict table, Slack). k6's output
// streams to the terminal as it comes (to stderr with --json); the last line is the verdict.
// Exit: 0 passed, k6's own code for a k6 verdict (99, 107, …), 105 after Ctrl-C (k6 stops
// cleanly and prints its summary), 2 for bad usage, 1 when k6gate itself cannot run the test.

import { basename } from 'node:path';
import { ConfigError, parseArgs } from './config.ts';
import { FieldError, K6gateError, TestFailed } from './core/errors.ts';
import { createLogger, type Logger } from './core/log.ts';
import { parseLaunchPayload, type LaunchRequest } from './flagger/payload.ts';
import type { LaunchService } from './launch/service.ts';
import type { VerdictReport } from './launch/verdict-report.ts';
import { bundleFromConfigMap } from './k6/script-bundle.ts';
import type { ScriptSource } from './kube/script-source.ts';
import { buildParts, SettingError } from './parts.ts';
import { buildDaemon } from './wiring.ts';

const EXIT_USAGE = 2;
const EXIT_K6GATE = 1;
/** What k6 exits with when stopped by a signal (and what `k6gate run` exits with on Ctrl-C). */
const EXIT_INTERRUPTED = 105;

const RUN_USAGE = `Usage: k6gate run [flags] <script.js | archive.tar | ->
       k6gate run [flags] --configmap <namespace>/<name>[/<key>]

Runs one k6 test through k6gate's engine and exits with its verdict: 0 passed, k6's own
code otherwise (99 thresholds crossed, 107 script error, …), 105 after Ctrl-C, 2 for bad
usage, 1 when k6gate cannot run the test. A script of several files runs as a k6 archive
(\`k6 archive test.js\`, then \`k6gate run archive.tar\`) or from a ConfigMap.

Flags:
  --env K=V                  an environment variable for the script (repeatable)
  --secret ENV=ns/secret/key a Kubernetes Secret value as ENV (repeatable; needs a client)
  --configmap ns/name[/key]  the script (and the files beside it) from a ConfigMap
  --runner local|job|k6-operator   where the test runs (default: local)
  --parallelism N            runner pods (k6-operator)
  --pod-label K=V            a label on runner pods (repeatable; pod runs)
  --pod-annotation K=V       an annotation on runner pods (repeatable; pod runs)
  --upload-to-cloud          stream results to k6 Cloud (K6_CLOUD_TOKEN)
  --slack-channel C          post the run to this Slack channel (repeatable; SLACK_TOKEN)
  --timeout D                stop the run after this Go duration (e.g. 10m)
  --namespace NS             the namespace of pod runs and secrets (default: default)
  --name NAME                the test's name in logs and Slack (default: the script's)
  --json                     print the verdict as one JSON object (schemas/verdict.schema.json);
                             k6's output goes to stderr
Every daemon setting applies as well (k6gate --help), from its flag or environment variable:
K6_BINARY, KUBERNETES_CLIENT, KUBECONFIG, SLACK_TOKEN, TEMP_DIR, LOG_LEVEL and LOG_FORMAT (here: error, text), …
`;

class UsageError extends Error {}

interface RunPlan {
  metadata: Record<string, string>;
  name: string;
  namespace: string;
  /** The script argument ('-' for stdin), unless --configmap. */
  script?: string;
  json: boolean;
  /** Flags left for the daemon settings. */
  settings: string[];
}

const REPEATED = {
  '--env': 'env',
  '--secret': 'secret',
  '--slack-channel': 'slack',
  '--pod-label': 'label',
  '--pod-annotation': 'annotation',
} as const;
type Lists = Record<(typeof REPEATED)[keyof typeof REPEATED], string[]>;
const VALUED = ['--configmap', '--parallelism', '--timeout', '--namespace', '--name'] as const;

/** Splits argv into the run's own flags, the script and the daemon settings. */
function parseRunArgs(argv: readonly string[]): RunPlan | 'help' {
  const lists: Lists = { env: [], secret: [], slack: [], label: [], annotation: [] };
  const values = new Map<string, string>();
  const settings: string[] = [];
  const bools = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--json' || arg === '--upload-to-cloud') {
      bools.add(arg);
      continue;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`flag ${flag} needs a value`);
    if (flag in REPEATED) lists[REPEATED[flag as keyof typeof REPEATED]].push(value);
    else if ((VALUED as readonly string[]).includes(flag)) values.set(flag, value);
    else settings.push(flag, value); // a daemon setting (parseArgs checks it)
  }
  return planOf(positional, lists, values, bools, settings);
}

function planOf(
  positional: string[],
  lists: Lists,
  values: Map<string, string>,
  bools: Set<string>,
  settings: string[],
): RunPlan {
  const configmap = values.get('--configmap');
  if (positional.length > 1) throw new UsageError(`one script, not ${positional.length}`);
  if ((positional.length === 1) === (configmap !== undefined)) {
    throw new UsageError('give exactly one of a script file, - (stdin) or --configmap');
  }
  const metadata: Record<string, string> = {
    env_vars: JSON.stringify(pairs(lists.env, '--env', 'K=V')),
    kubernetes_secrets: JSON.stringify(pairs(lists.secret, '--secret', 'ENV=ns/secret/key')),
    slack_channels: lists.slack.join(','),
    upload_to_cloud: String(bools.has('--upload-to-cloud')),
  };
  if (lists.label.length)
    metadata.runner_labels = JSON.stringify(pairs(lists.label, '--pod-label', 'K=V'));
  if (lists.annotation.length) {
    metadata.runner_annotations = JSON.stringify(
      pairs(lists.annotation, '--pod-annotation', 'K=V'),
    );
  }
  let namespace = values.get('--namespace') ?? 'default';
  if (configmap !== undefined) {
    const [ns, ...rest] = configmap.split('/');
    if (!ns || rest.length === 0) throw new UsageError('--configmap: expected ns/name[/key]');
    namespace = ns;
    metadata.script_configmap = rest.join('/');
  }
  const parallelism = values.get('--parallelism');
  if (parallelism !== undefined) metadata.parallelism = parallelism;
  const timeout = values.get('--timeout');
  const script = positional[0];
  return {
    metadata,
    namespace,
    name: values.get('--name') ?? nameOf(script ?? metadata.script_configmap ?? 'test'),
    ...(script === undefined ? {} : { script }),
    json: bools.has('--json'),
    settings: timeout === undefined ? settings : [...settings, '--max-run-duration', timeout],
  };
}

function pairs(items: string[], flag: string, shape: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: expected ${shape}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

// A Kubernetes-style name from a file name: "load test.js" → "load-test".
function nameOf(path: string): string {
  const base = path === '-' ? 'stdin' : basename(path).replace(/\.(js|ts|tar)$/, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return name.slice(0, 253) || 'test';
}

/** The metadata key each run flag became, so a validation error names the flag. */
const FLAG_OF: [RegExp, string][] = [
  [/^metadata\.env_vars\b/, '--env'],
  [/^metadata\.kubernetes_secrets\b/, '--secret'],
  [/^metadata\.script_configmap\b/, '--configmap'],
  [/^metadata\.parallelism\b/, '--parallelism'],
  [/^metadata\.runner_labels\b/, '--pod-label'],
  [/^metadata\.runner_annotations\b/, '--pod-annotation'],
  [/^metadata\.script\b/, 'the script'],
  [/^name$/, '--name'],
  [/^namespace$/, '--namespace'],
];

function flagOf(field: string): string {
  return FLAG_OF.find(([re]) => re.test(field))?.[1] ?? field;
}

const ARCHIVE_SOURCE = 'k6gate-run-archive';

// A local archive runs as a bundle of one file; a pod run copies it into its own ConfigMap.
function archiveSource(bytes: Uint8Array, entry: string): ScriptSource {
  const binaryData = { [entry]: Buffer.from(bytes).toString('base64') };
  return { fetch: async (_ns, ref) => bundleFromConfigMap({ binaryData }, ref, false) };
}

const isTar = (b: Uint8Array) => new TextDecoder().decode(b.subarray(257, 262)) === 'ustar';

async function readScript(path: string, stdin: () => Promise<Uint8Array>): Promise<Uint8Array> {
  if (path === '-') return stdin();
  const file = Bun.file(path);
  if (!(await file.exists())) throw new UsageError(`${path}: no such file`);
  return file.bytes();
}

export interface RunIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (chunk: string | Uint8Array) => void;
  stderr: (chunk: string | Uint8Array) => void;
  stdin: () => Promise<Uint8Array>;
  /** Calls `fn` on each Ctrl-C (SIGINT) or SIGTERM. */
  onInterrupt: (fn: () => void) => void;
}

/** Runs `k6gate run argv…`; resolves to the exit code. */
export async function runCommand(argv: readonly string[], io: RunIo): Promise<number> {
  try {
    return await runPlanned(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof SettingError) {
      io.stderr(`k6gate run: ${err.message}\n(see k6gate run --help)\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

async function runPlanned(argv: readonly string[], io: RunIo): Promise<number> {
  const plan = parseRunArgs(argv);
  if (plan === 'help') {
    io.stdout(RUN_USAGE);
    return 0;
  }
  // k6gate's own log lines would bury k6's output: errors only, as text, unless asked otherwise.
  const parsed = parseArgs(plan.settings, { LOG_LEVEL: 'error', LOG_FORMAT: 'text', ...io.env });
  if (parsed.command !== 'serve') throw new UsageError(`unexpected ${parsed.command}`);
  const config = { ...parsed.config, reattachGraceMs: 0 };
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });

  const script = await scriptOf(plan, io);
  const req = validate(plan, script.metadata);
  const daemon = buildDaemon({
    ...(await buildParts(config, logger)),
    ...(script.source ? { scripts: script.source } : {}),
    janitor: false,
    daemonEnv: io.env,
    version: 'run',
  });
  try {
    // A second Ctrl-C kills what is left of the run (k6's process group) at once.
    const kill = () => {
      for (const run of daemon.registry.running()) {
        if (run.pid !== undefined) killGroup(run.pid);
      }
    };
    return await launchAndReport(daemon.launch, req, { json: plan.json, kill }, io, logger);
  } finally {
    await daemon.registry.shutdown(); // Slack's final message, the run's cleanup
  }
}

// The script's metadata (inline, or a local archive served as a bundle) from the plan.
async function scriptOf(
  plan: RunPlan,
  io: RunIo,
): Promise<{ metadata: Record<string, string>; source?: ScriptSource }> {
  if (plan.script === undefined) return { metadata: {} };
  const bytes = await readScript(plan.script, io.stdin);
  if (!isTar(bytes)) return { metadata: { script: new TextDecoder().decode(bytes) } };
  const entry = plan.script === '-' ? 'stdin.tar' : basename(plan.script);
  return {
    metadata: { script_configmap: `${ARCHIVE_SOURCE}/${entry}` },
    source: archiveSource(bytes, entry),
  };
}

// The same validation as a webhook's body; an error names the flag it came from.
function validate(plan: RunPlan, script: Record<string, string>) {
  try {
    return parseLaunchPayload({
      name: plan.name,
      namespace: plan.namespace,
      phase: 'run',
      checksum: Bun.randomUUIDv7(),
      metadata: { ...plan.metadata, ...script },
    });
  } catch (err) {
    if (err instanceof FieldError) throw new UsageError(`${flagOf(err.field)}: ${err.message}`);
    throw err;
  }
}

// A streamed run's answer (which carries the dashboard link) is not printed: the link alone.
const dashboardLine = (report: VerdictReport | undefined) =>
  report?.dashboardUrl ? `k6gate: dashboard: ${report.dashboardUrl}\n` : '';

// Text that ends its last line, so the verdict line stands on its own.
const asLines = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

async function launchAndReport(
  service: LaunchService,
  req: LaunchRequest,
  { json, kill }: { json: boolean; kill: () => void },
  io: RunIo,
  logger: Logger,
): Promise<number> {
  const interrupt = new AbortController();
  io.onInterrupt(() => (interrupt.signal.aborted ? kill() : interrupt.abort('interrupted')));
  const out = json ? io.stderr : io.stdout;
  let streamed = false;
  const ctx = {
    requestId: 'run',
    signal: interrupt.signal,
    logger,
    onOutput: (chunk: Uint8Array) => ((streamed = true), out(chunk)),
  };
  try {
    const outcome = await service.launch(req, ctx);
    if (!streamed) out(asLines(outcome.body)); // pod runs: the runners' logs, read at the end
    const report = outcome.report;
    if (streamed && !json) out(dashboardLine(report));
    io.stdout(json ? `${JSON.stringify(report)}\n` : `k6gate: passed: ${report?.reason ?? ''}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof K6gateError)) throw err;
    if (err instanceof FieldError) throw new UsageError(`${flagOf(err.field)}: ${err.message}`);
    const report =
      err instanceof TestFailed ? (err.details as VerdictReport | undefined) : undefined;
    if (err instanceof TestFailed && !streamed) out(asLines(err.output));
    if (streamed && !json) out(dashboardLine(report));
    if (json && report) io.stdout(`${JSON.stringify({ ...report, message: err.message })}\n`);
    else (report ? io.stdout : io.stderr)(`k6gate: ${err.message}\n`);
    if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
    return report?.exitCode ? report.exitCode : EXIT_K6GATE;
  }
}
