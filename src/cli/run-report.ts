// What `k6gate run` prints and exits with once its run is launched: k6's output as it comes
// (stdout, or stderr with --json), the dashboard link, then the verdict as the last line (or one
// JSON object). Exit codes: 0 passed; k6's own code for k6's verdicts (99 thresholds, 107 script
// error, …); 105 after Ctrl-C; 1 when k6gate itself could not run the test. Bad usage (2) is
// decided before anything runs (run.ts).

import { FieldError, K6gateError, TestFailed, UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { LaunchRequest } from '../flagger/payload.ts';
import type { LaunchService } from '../launch/service.ts';
import type { VerdictReport } from '../launch/verdict-report.ts';
import { CallerGone } from '../runners/runner.ts';

/** sysexits' EX_UNAVAILABLE: k6gate could not run the test (never one of k6's own codes). */
const EXIT_K6GATE = 69;
/** What k6 exits with when stopped by a signal (and what `k6gate run` exits with on Ctrl-C). */
const EXIT_INTERRUPTED = 105;

export interface ReportIo {
  stdout: (chunk: string | Uint8Array) => void;
  stderr: (chunk: string | Uint8Array) => void;
  /** Calls `fn` on each Ctrl-C (SIGINT) or SIGTERM. */
  onInterrupt: (fn: () => void) => void;
}

/** The flags whose values only the cluster can refuse (a ConfigMap without the key, a Secret
 * that does not exist): the engine names the request field, the user typed the flag. */
const FLAG_OF_FIELD: [prefix: string, flag: string][] = [
  ['metadata.script_configmap', '--configmap'],
  ['metadata.kubernetes_secrets', '--secret'],
];
const flagOf = (field: string) =>
  FLAG_OF_FIELD.find(([prefix]) => field.startsWith(prefix))?.[1] ?? field;

// A streamed run's answer (which carries the dashboard link) is not printed: the link alone.
const dashboardLine = (report: VerdictReport | undefined) =>
  report?.dashboardUrl ? `k6gate: dashboard: ${report.dashboardUrl}\n` : '';

// Text that ends its last line, so the verdict line stands on its own.
const asLines = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

/** Launches the run, prints as it goes, and resolves to the exit code. The first Ctrl-C stops the
 * run cleanly (k6 prints its summary); a second calls `kill`. */
export async function launchAndReport(
  service: LaunchService,
  req: LaunchRequest,
  { json, kill, logger }: { json: boolean; kill: () => void; logger: Logger },
  io: ReportIo,
): Promise<number> {
  const interrupt = new AbortController();
  io.onInterrupt(() =>
    interrupt.signal.aborted ? kill() : interrupt.abort(new CallerGone('interrupted')),
  );
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
    if ('refused' in outcome) throw outcome.refused; // reported as any refusal, below
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
