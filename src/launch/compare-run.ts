// A run judged against its baseline (metadata `compare`): the run's handle wrapped so its
// result carries the comparison, and a rule that fails fails the verdict — everything after
// (records, answers, Slack, events) reads the judged result. The baseline is the primary's run
// started beside the canary's (stopped with it), or the stored summary of the canary's last
// promoted revision of the same script.

import type { CompareOptions } from '../flagger/compare-options.ts';
import { compareWithBaseline, type Comparison, type MetricValues } from '../k6/compare.ts';
import { numericMetrics } from '../k6/summary-export.ts';
import type { RunHandle, RunResult } from '../runners/runner.ts';
import type { Store, TimelineEvent } from '../store/store.ts';

/** A baseline's numbers, or why there is none. */
type Baseline = { runId: string; metrics: MetricValues } | string;

/** The run's handle, its result judged against the baseline when it ends. */
export function withComparison(
  run: RunHandle,
  options: CompareOptions,
  baseline: { load: () => Promise<Baseline>; run?: RunHandle },
): RunHandle {
  const result = run.result.then(async (r) => {
    const metrics = r.summary ? numericMetrics(r.summary) : undefined;
    const base = await baseline.load().catch((err: unknown) => `cannot read it: ${String(err)}`);
    const comparison = compareWithBaseline(options.rules, options.baseline, metrics, base);
    return judge(r, comparison, options.whenMissing);
  });
  return {
    runId: run.runId,
    ...(run.pid === undefined ? {} : { pid: run.pid }),
    startedAt: run.startedAt,
    started: run.started,
    result,
    ...(run.released ? { released: run.released } : {}),
    output: () => run.output(),
    cancel(reason) {
      run.cancel(reason);
      baseline.run?.cancel(reason);
    },
  };
}

/** The baseline of a primary's run: its numbers once it ended (whatever its own verdict). */
export function primaryBaseline(run: RunHandle): () => Promise<Baseline> {
  return async () => {
    const r = await run.result;
    if (!r.summary) return `the primary's run (${r.runId}) exported no summary: ${r.reason}`;
    return { runId: r.runId, metrics: numericMetrics(r.summary) };
  };
}

/** How many earlier passed runs are looked through for one Flagger promoted. */
const CANDIDATES = 20;

/** The `last-promoted` baseline: the newest passed run of this script for an earlier revision
 * that Flagger's timeline says was promoted, else the newest passed one. */
export function lastPromotedBaseline(
  store: Store,
  canary: { namespace: string; name: string; script: string; checksum: string },
): () => Promise<Baseline> {
  return async () => {
    const runs = await store.baselineCandidates(canary, CANDIDATES);
    if (runs.length === 0) {
      return `no baseline yet: no earlier revision of ${canary.namespace}/${canary.name} passed with this script`;
    }
    const events = await store.eventsOf(canary.namespace, canary.name, 500);
    const promoted = new Set(events.filter(isPromotion).map((e) => e.checksum));
    const pick = runs.find((r) => promoted.has(r.checksum)) ?? runs[0]!;
    return { runId: pick.runId, metrics: pick.summary?.metrics ?? {} };
  };
}

// Flagger's event for a finished rollout: "Promotion completed! Scaling down <app>.<ns>".
const isPromotion = (e: TimelineEvent) =>
  e.phase === 'Succeeded' || /promotion completed/i.test(e.message);

// A failed rule fails a run k6 passed; without a baseline the absolute thresholds decide, or
// the run fails (baseline_missing: fail). A run k6 failed keeps its verdict and reason.
function judge(r: RunResult, comparison: Comparison, whenMissing: 'pass' | 'fail'): RunResult {
  const judged = { ...r, comparison };
  if (r.verdict !== 'passed') return judged;
  if (comparison.failed.length > 0) {
    return {
      ...judged,
      verdict: 'failed',
      reason: `worse than the baseline: ${comparison.failed.join('; ')}`,
    };
  }
  if (comparison.missing !== null) {
    return whenMissing === 'fail'
      ? {
          ...judged,
          verdict: 'failed',
          reason: `not compared (baseline_missing: fail): ${comparison.missing}`,
        }
      : { ...judged, reason: `${r.reason}; not compared: ${comparison.missing}` };
  }
  const judgedRules = comparison.rules.filter((x) => x.passed !== null).length;
  return {
    ...judged,
    reason: `${r.reason}; ${judgedRules} compare rule(s) held against the ${comparison.baseline} baseline`,
  };
}
