// The verdict as a JSON object, for callers that send `Accept: application/json` to
// /launch-test (Flagger reads the text answer, which stays as it is). Its shape is documented by
// schemas/verdict.schema.json, which the tests check real answers against.

import { keyMetrics, thresholdResults, type ThresholdResult } from '../k6/summary-export.ts';
import type { Comparison } from '../k6/compare.ts';
import type { RunnerKind } from '../flagger/payload.ts';
import type { RunResult } from '../runners/runner.ts';

/** The output tail a JSON verdict carries (the text answer has the bounded output). */
const OUTPUT_TAIL_BYTES = 16 * 1024;

export interface VerdictReport {
  verdict: RunResult['verdict'];
  reason: string;
  exitCode: number | null;
  signal: string | null;
  runner: RunnerKind;
  runId: string;
  durationMs: number;
  cloudUrl: string | null;
  dashboardUrl: string | null;
  /** From k6's summary export; null when there is none (pod runs, a k6 that wrote none). Pod
   * runs' `metrics` come from their runners' end-of-test summaries. */
  thresholds: ThresholdResult[] | null;
  metrics: Record<string, Record<string, number>> | null;
  outputTail: string;
  outputTruncated: boolean;
  /** The comparison with a baseline (metadata compare); null without compare rules. */
  comparison: Comparison | null;
}

export function buildVerdictReport(
  result: RunResult,
  run: { runner: RunnerKind; cloudUrl?: string | undefined; dashboardUrl?: string | undefined },
): VerdictReport {
  const bytes = Buffer.from(result.output);
  const cut = bytes.byteLength > OUTPUT_TAIL_BYTES;
  return {
    verdict: result.verdict,
    reason: result.reason,
    exitCode: result.exitCode,
    signal: result.signal,
    runner: run.runner,
    runId: result.runId,
    durationMs: Math.round(result.durationMs),
    cloudUrl: run.cloudUrl ?? null,
    dashboardUrl: run.dashboardUrl ?? null,
    // Runners' text summaries carry no threshold results (k6 evaluated them per runner).
    thresholds:
      result.summary && !result.summary.fromRunnerLogs ? thresholdResults(result.summary) : null,
    metrics: result.summary ? keyMetrics(result.summary) : null,
    outputTail: cut
      ? bytes.subarray(bytes.byteLength - OUTPUT_TAIL_BYTES).toString('utf8')
      : result.output,
    outputTruncated: result.truncated || cut,
    comparison: result.comparison ?? null,
  };
}
