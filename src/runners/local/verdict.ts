// A local run's result from how its k6 process ended: a run k6gate stopped is aborted (with why,
// and whether the grace ran out), a signal is an error, otherwise k6's exit code decides through
// the one table (k6/exit-codes.ts), with the crossed thresholds named from k6's output.

import { explainExitCode, K6_EXIT, type Verdict } from '../../k6/exit-codes.ts';
import { parseCrossedThresholds } from '../../k6/output.ts';
import { runResult, type CancelReason, type RunResult } from '../runner.ts';
import type { OutputSnapshot } from './output-buffer.ts';

export interface StopState {
  reason?: CancelReason;
  forceKilled: boolean;
}

export function describeResult(
  runId: string,
  proc: Bun.Subprocess,
  out: OutputSnapshot,
  run: StopState & { durationMs: number },
): RunResult {
  const exitCode = proc.exitCode;
  const signal = proc.signalCode === null ? null : String(proc.signalCode);
  const thresholds = parseCrossedThresholds(out.text);
  const { verdict, reason } = judge(exitCode, signal, thresholds, run);
  return runResult({
    runId,
    exitCode,
    signal,
    verdict,
    reason,
    durationMs: run.durationMs,
    cancelReason: run.reason,
    output: out.text,
    truncated: out.truncated,
    outputBytes: out.totalBytes,
  });
}

// A canceled run is aborted whatever k6 said; otherwise k6's exit code decides.
function judge(
  exitCode: number | null,
  signal: string | null,
  thresholds: string[],
  run: StopState,
): { verdict: Verdict; reason: string } {
  if (run.reason !== undefined) {
    return {
      verdict: 'aborted',
      reason: `${CANCEL_TEXT[run.reason]}${run.forceKilled ? '; killed after the grace period' : ''}`,
    };
  }
  if (exitCode === null)
    return { verdict: 'error', reason: `k6 was killed by ${signal ?? 'a signal'}` };
  const meaning = explainExitCode(exitCode);
  if (exitCode === K6_EXIT.THRESHOLDS_HAVE_FAILED && thresholds.length > 0) {
    return { verdict: meaning.verdict, reason: `thresholds crossed: ${thresholds.join(', ')}` };
  }
  return meaning;
}

const CANCEL_TEXT: Record<CancelReason, string> = {
  timeout: 'stopped at the run deadline (max run duration)',
  'start-timeout': 'k6 did not start within the start timeout',
  'client-gone': 'canceled: the caller closed the connection',
  shutdown: 'canceled: k6gate is shutting down',
  'cloud-url-missing': 'stopped: k6 printed no k6 Cloud URL although upload_to_cloud is set',
  interrupted: 'interrupted (Ctrl-C)',
  superseded: 'ended: a new revision of the canary (checksum or script) started its own run',
  'baseline-failed': "stopped: the primary's run it is compared with could not start",
};
