// `k6gate run`: one gate from a shell (a VM, a bastion, a CI job). The flags become a launch
// request (run-args.ts), checked by the payload's own checkers, and the run goes through the
// same engine as a webhook (admission, runners, supervision, verdict table, Slack) — without the
// HTTP app, which this command never loads. What it prints and exits with is run-report.ts's.

import { basename } from 'node:path';
import { buildEngine } from '../compose/engine.ts';
import { buildParts } from '../compose/parts.ts';
import { parseArgs } from '../config/parse.ts';
import { FieldError, UsageError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { stderr, stdout } from '../os/stdio.ts';
import { bundleFromConfigMap } from '../k6/script-bundle.ts';
import type { ScriptSource } from '../kube/script-source.ts';
import { filesBeside } from './run-files.ts';
import { parseRunArgs, type RunPlan } from './run-args.ts';
import { launchAndReport, type ReportIo } from './run-report.ts';

/** sysexits' EX_USAGE: apart from every code k6 itself exits with (0, 1, 2, 97–110, 255). */
const EXIT_USAGE = 64;

const RUN_USAGE = `Usage: k6gate run [flags] <script.js | archive.tar | -> [-- <k6 run flags>]
       k6gate run [flags] --configmap <namespace>/<name>[/<key>] [-- <k6 run flags>]

Runs one k6 test through k6gate's engine and exits with its verdict: 0 passed, k6's own
code otherwise (1, 99 thresholds crossed, 107 script error, …), 105 after Ctrl-C; k6gate's
own codes are apart from k6's: 64 for bad usage, 69 when k6gate cannot run the test. The files
a script reaches beside it (import './lib.js', open('./data.json')) go with it; files in other
directories need a k6 archive (\`k6 archive test.js\`, then \`k6gate run archive.tar\`).

Flags:
  -e, --env K=V              an environment variable for the script (repeatable)
  -u, --vus N                virtual users, over the script's options (as k6's --vus)
  -d, --duration D           how long the test runs, e.g. 30s (as k6's --duration)
  -i, --iterations N         total iterations (as k6's --iterations)
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
  -- <k6 run flags>          passed to \`k6 run\` as given (--tag k=v, --http-debug, --out json=f, …),
                             before the script; not --summary-export (k6gate's own)
Every daemon setting applies as well (k6gate --help), from its flag or environment variable:
K6_BINARY, KUBERNETES_CLIENT, KUBECONFIG, SLACK_TOKEN, TEMP_DIR, LOG_LEVEL and LOG_FORMAT (here: error, text), …
`;

export interface RunIo extends ReportIo {
  env: Readonly<Record<string, string | undefined>>;
  stdin: () => Promise<Uint8Array>;
}

/** The process's own terminal: k6's output and the verdict written as they come (and all out
 * before the process exits: os/stdio.ts); Ctrl-C and SIGTERM call `fn` each time. */
export function terminal(): RunIo {
  return {
    env: process.env,
    stdout: (chunk) => stdout.write(chunk),
    stderr: (chunk) => stderr.write(chunk),
    stdin: async () => new Uint8Array(await Bun.stdin.arrayBuffer()),
    onInterrupt(fn) {
      process.on('SIGINT', fn);
      process.on('SIGTERM', fn);
    },
  };
}

/** Runs `k6gate run argv…`; resolves to the exit code. */
export async function runCommand(argv: readonly string[], io: RunIo): Promise<number> {
  try {
    return await runPlanned(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof FieldError) {
      const message = err instanceof FieldError ? `${err.field}: ${err.message}` : err.message;
      io.stderr(`k6gate run: ${message}\n(see k6gate run --help)\n`);
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
  const config = {
    ...parsed.config,
    reattachGraceMs: 0,
    ...(plan.timeoutMs === undefined ? {} : { maxRunMs: plan.timeoutMs }),
  };
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const script = await scriptOf(plan, io);
  const req = plan.request(script.request);
  const engine = buildEngine({
    ...(await buildParts(config, logger)),
    ...(script.source ? { scripts: script.source } : {}),
    janitor: false,
    daemonEnv: io.env,
  });
  try {
    // A second Ctrl-C kills what is left of the run (k6's process group) at once.
    const kill = () => {
      for (const run of engine.registry.running()) {
        if (run.pid !== undefined) killGroup(run.pid);
      }
    };
    return await launchAndReport(engine.launch, req, { json: plan.json, kill, logger }, io);
  } finally {
    await engine.registry.shutdown(); // Slack's final message, the run's cleanup
    await engine.store.close();
  }
}

const FILES_SOURCE = 'k6gate-run-files';

// Local files (an archive, or a script and the files it reaches) run as one bundle, laid out
// side by side; a pod run copies them into its own ConfigMap.
function filesSource(files: Record<string, Uint8Array>): ScriptSource {
  const binaryData = Object.fromEntries(
    Object.entries(files).map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')]),
  );
  return { fetch: async (_ns, ref) => bundleFromConfigMap({ binaryData }, ref, false) };
}

const isTar = (b: Uint8Array) => new TextDecoder().decode(b.subarray(257, 262)) === 'ustar';

async function readScript(path: string, stdin: () => Promise<Uint8Array>): Promise<Uint8Array> {
  if (path === '-') return stdin();
  const file = Bun.file(path);
  if (!(await file.exists())) throw new UsageError(`${path}: no such file`);
  return file.bytes();
}

// Where the script comes from: inline text, local files served as a bundle (an archive, or a
// script with the files beside it that it reaches), or --configmap.
async function scriptOf(
  plan: RunPlan,
  io: RunIo,
): Promise<{
  request: Parameters<RunPlan['request']>[0];
  source?: ScriptSource;
}> {
  if (plan.script === undefined) return { request: { configMap: plan.configMapRef ?? '' } };
  const bytes = await readScript(plan.script, io.stdin);
  const entry = plan.script === '-' ? 'stdin.tar' : basename(plan.script);
  let files: Record<string, Uint8Array> = { [entry]: bytes };
  if (!isTar(bytes)) {
    const text = new TextDecoder().decode(bytes);
    const beside = plan.script === '-' ? {} : filesBeside(plan.script, text);
    if (Object.keys(beside).length === 0) return { request: { script: text } };
    files = { ...beside, [entry]: bytes };
  }
  return { request: { configMap: `${FILES_SOURCE}/${entry}` }, source: filesSource(files) };
}

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
