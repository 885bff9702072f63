// What a launch answers: k6's output without its logo (200, or 202 while a stateful run goes
// on) or, for a run that did not pass, a TestFailed with the reason first (400) — with the
// dashboard link, when there is one, as the last line, and the verdict as an object for JSON
// callers.

import { ShuttingDown, TestFailed } from '../core/errors.ts';
import { dropBanner } from '../k6/output.ts';
import { describeFailure, type RunResult } from '../runners/runner.ts';
import { buildVerdictReport, type VerdictReport } from './verdict-report.ts';

export interface LaunchOutcome {
  runId: string;
  /** 202 for a stateful hook's run under way (started, or still running); else 200. */
  status?: 200 | 202;
  /** The body of the 200 answer: k6's output for waited runs, empty for async ones. */
  body: string;
  /** The verdict as an object (waited runs), for `Accept: application/json`. */
  report?: VerdictReport;
}

/** The verdict as Flagger reads it; throws TestFailed (400) or ShuttingDown for a run that did
 * not pass. */
export function answer(
  result: RunResult,
  run: Parameters<typeof buildVerdictReport>[1],
): LaunchOutcome {
  const link = run.dashboardUrl ? `\nk6gate: dashboard: ${run.dashboardUrl}\n` : '';
  const report = buildVerdictReport(result, run);
  if (result.verdict === 'passed') {
    // A compared run says how the comparison went (the rules held, or why none was judged).
    const compared = result.comparison ? `\nk6gate: ${result.reason}\n` : '';
    return { runId: result.runId, body: dropBanner(result.output) + compared + link, report };
  }
  if (result.cancelReason === 'shutdown') throw new ShuttingDown();
  throw new TestFailed(describeFailure(result), dropBanner(result.output) + link, report);
}
