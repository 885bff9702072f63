// k6's `--summary-export` file (the legacy JSON summary; k6gate asks for it in every local
// run): per-threshold results and a few key metrics. In that format a threshold's value is
// `true` when it was CROSSED (k6's `!threshold.ok`), and rate metrics carry `value`.

import * as v from 'valibot';

/** The largest export k6gate reads (a script with thousands of submetrics is cut off, not read). */
export const SUMMARY_EXPORT_MAX_BYTES = 1024 * 1024;

const MetricSchema = v.looseObject({
  thresholds: v.optional(v.record(v.string(), v.boolean())),
});
const SummaryExportSchema = v.looseObject({
  metrics: v.record(v.string(), v.record(v.string(), v.unknown())),
  /** Set by k6gate when the numbers were read from runners' text summaries (pod runs). */
  fromRunnerLogs: v.optional(v.boolean()),
});
export type SummaryExport = v.InferOutput<typeof SummaryExportSchema>;

export interface ThresholdResult {
  metric: string;
  threshold: string;
  passed: boolean;
}

/** Parses the file's text; undefined when it is not a k6 summary export. */
export function parseSummaryExport(text: string): SummaryExport | undefined {
  try {
    const parsed = v.safeParse(SummaryExportSchema, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** Every threshold of every metric, passed or crossed; worked out once per summary (the verdict
 * report and the run record both ask). */
export function thresholdResults(summary: SummaryExport): ThresholdResult[] {
  let results = thresholdsOf.get(summary);
  if (!results) {
    results = readThresholds(summary);
    thresholdsOf.set(summary, results);
  }
  return results;
}

const thresholdsOf = new WeakMap<SummaryExport, ThresholdResult[]>();

function readThresholds(summary: SummaryExport): ThresholdResult[] {
  return Object.entries(summary.metrics).flatMap(([metric, values]) => {
    const m = v.safeParse(MetricSchema, values);
    const thresholds = m.success ? (m.output.thresholds ?? {}) : {};
    return Object.entries(thresholds).map(([threshold, crossed]) => ({
      metric,
      threshold,
      passed: !crossed,
    }));
  });
}

const KEY_METRICS = [
  'http_reqs',
  'http_req_failed',
  'http_req_duration',
  'iterations',
  'checks',
  'vus_max',
  'data_received',
  'data_sent',
];

/** The metrics a verdict reader wants first, with their numeric values as k6 exported them. */
export function keyMetrics(summary: SummaryExport): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const name of KEY_METRICS) {
    const values = summary.metrics[name];
    if (!values) continue;
    const numbers = Object.entries(values).filter(([, x]) => typeof x === 'number');
    out[name] = Object.fromEntries(numbers) as Record<string, number>;
  }
  return out;
}

/** The summaries a store keeps stay small: a script with thousands of submetrics keeps these. */
const MAX_STORED_METRICS = 200;

/** Every metric's numeric values (thresholds left out), as compare rules and the store read them. */
export function numericMetrics(summary: SummaryExport): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, values] of Object.entries(summary.metrics).slice(0, MAX_STORED_METRICS)) {
    const numbers = Object.entries(values).filter(([, x]) => typeof x === 'number');
    out[name] = Object.fromEntries(numbers) as Record<string, number>;
  }
  return out;
}
