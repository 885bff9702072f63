// Relative thresholds: the `compare` rules a canary is judged by against a baseline run's
// summary (`http_req_duration.p(95) <= 1.10 * baseline; http_req_failed.rate <= baseline + 0.01`).
// Parsing names the rule and what is wrong; evaluating gives every rule's two values.

/** At most this many rules, each at most RULE_MAX_CHARS: a compare key is a few lines. */
const MAX_RULES = 20;
const RULE_MAX_CHARS = 200;

const OPS = ['<=', '>=', '<', '>'] as const;
type Op = (typeof OPS)[number];

export interface CompareRule {
  /** The rule as written (trimmed). */
  text: string;
  /** k6 metric, with a submetric's tags as written (`http_req_duration{status:200}`). */
  metric: string;
  /** avg, min, med, max, p(N), rate, count or value. */
  stat: string;
  op: Op;
  /** limit = factor × baseline + offset. */
  factor: number;
  offset: number;
}

interface RuleResult extends Pick<CompareRule, 'metric' | 'stat' | 'op' | 'factor' | 'offset'> {
  rule: string;
  /** The run's value, the baseline's, and the limit the rule derives from it; null when absent. */
  value: number | null;
  baseline: number | null;
  limit: number | null;
  /** null: not judged (no baseline value). */
  passed: boolean | null;
}

/** Metric name → stat → value, as k6's summary export gives them (times in ms). */
export type MetricValues = Readonly<Record<string, Readonly<Record<string, number>>>>;

const METRIC =
  /^([A-Za-z_][A-Za-z0-9_]*(?:\{[^{}]*\})?)\.(avg|min|med|max|p\(\d+(?:\.\d+)?\)|rate|count|value)$/;
const NUMBER = String.raw`\d+(?:\.\d+)?`;
// `[F *] baseline [* F] [(+|-) N]`
const EXPR = new RegExp(
  String.raw`^(?:(${NUMBER})\s*\*\s*)?baseline(?:\s*\*\s*(${NUMBER}))?(?:\s*([+-])\s*(${NUMBER}))?$`,
);

/** The rules of a `compare` text, separated by `;` or new lines; throws with what is wrong. */
export function parseCompareRules(text: string): CompareRule[] {
  const parts = text
    .split(/[;\n]/)
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (parts.length === 0)
    throw new Error('no rule: expected e.g. "http_req_duration.p(95) <= 1.10 * baseline"');
  if (parts.length > MAX_RULES) throw new Error(`${parts.length} rules; at most ${MAX_RULES}`);
  return parts.map((rule, i) => {
    try {
      return parseRule(rule);
    } catch (err) {
      const shown = rule.length > 60 ? `${rule.slice(0, 60)}…` : rule;
      throw new Error(`rule ${i + 1} "${shown}": ${(err as Error).message}`, { cause: err });
    }
  });
}

function parseRule(text: string): CompareRule {
  if (text.length > RULE_MAX_CHARS) throw new Error(`longer than ${RULE_MAX_CHARS} characters`);
  const op = OPS.find((o) => text.includes(o));
  if (!op) throw new Error('no comparison: expected <=, <, >= or >');
  const at = text.indexOf(op);
  const left = text.slice(0, at).trim();
  const right = text.slice(at + op.length).trim();
  const m = METRIC.exec(left);
  if (!m) {
    throw new Error(
      'expected <metric>.<stat> on the left, with stat avg, min, med, max, p(N), rate, count or value',
    );
  }
  const e = EXPR.exec(right);
  if (!e) {
    throw new Error(
      'expected "baseline", "F * baseline", "baseline + N" or "F * baseline + N" on the right',
    );
  }
  const factor = Number(e[1] ?? e[2] ?? '1');
  const offset = Number(e[4] ?? '0') * (e[3] === '-' ? -1 : 1);
  return { text, metric: m[1] as string, stat: m[2] as string, op, factor, offset };
}

/** A stat of a metric in a summary; `rate` of a rate metric is its `value` (k6's export). */
export function statOf(metrics: MetricValues, metric: string, stat: string): number | null {
  const values = metrics[metric];
  if (!values) return null;
  const v = values[stat] ?? (stat === 'rate' ? values.value : undefined);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Every rule judged against the baseline's values. A metric the run lacks fails its rule; one
 * the baseline lacks is not judged. */
function evaluateRules(
  rules: readonly CompareRule[],
  run: MetricValues,
  baseline: MetricValues,
): RuleResult[] {
  return rules.map((r) => {
    const value = statOf(run, r.metric, r.stat);
    const base = statOf(baseline, r.metric, r.stat);
    const limit = base === null ? null : r.factor * base + r.offset;
    const passed = limit === null ? null : value === null ? false : holds(value, r.op, limit);
    const { metric, stat, op, factor, offset } = r;
    return { rule: r.text, metric, stat, op, factor, offset, value, baseline: base, limit, passed };
  });
}

function holds(value: number, op: Op, limit: number): boolean {
  // A tolerance for the float arithmetic of `1.10 * baseline` (equal values stay equal).
  const eps = Math.abs(limit) * 1e-9;
  if (op === '<=') return value <= limit + eps;
  if (op === '<') return value < limit - eps;
  if (op === '>=') return value >= limit - eps;
  return value > limit + eps;
}

/** What a failed rule says: `http_req_duration p(95) 231ms > 1.10 × baseline 190ms (primary)`. */
function describeFailedRule(r: RuleResult, baselineName: string): string {
  const show = (n: number | null) => showValue(r.metric, n);
  const unit = isTimeMetric(r.metric) ? 'ms' : '';
  const broken = { '<=': '>', '<': '>=', '>=': '<', '>': '<=' }[r.op];
  const factor = r.factor === 1 ? '' : `${r.factor} × `;
  const offset =
    r.offset === 0 ? '' : ` ${r.offset > 0 ? '+' : '-'} ${round(Math.abs(r.offset))}${unit}`;
  return `${r.metric} ${r.stat} ${show(r.value)} ${broken} ${factor}baseline ${show(r.baseline)}${offset} (${baselineName})`;
}

const round = (n: number) => String(Number(n.toPrecision(4)));

/** A metric's value in words: 4 significant digits, `ms` for k6's time trends, or `absent`. */
function showValue(metric: string, n: number | null): string {
  return n === null ? 'absent' : `${round(n)}${isTimeMetric(metric) ? 'ms' : ''}`;
}

// k6's built-in trends in milliseconds (a custom trend's unit is the script's business).
const TIME_METRICS =
  /^(http_req_(duration|blocked|connecting|tls_handshaking|sending|waiting|receiving)|iteration_duration|group_duration|grpc_req_duration|ws_connecting|ws_session_duration)(\{|$)/;
const isTimeMetric = (metric: string) => TIME_METRICS.test(metric);

/** Which run a canary is compared with: the same script against the primary at the same time,
 * or the stored summary of the canary's last promoted revision. */
export const BASELINE_KINDS = ['primary', 'last-promoted'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** A run's comparison with its baseline, as the verdict, the store and the page show it. */
export interface Comparison {
  baseline: BaselineKind;
  /** The baseline run (its id), when there was one. */
  baselineRunId: string | null;
  /** Why no rule was judged (no baseline yet, no summary); null when they were. */
  missing: string | null;
  rules: RuleResult[];
  /** Each failed rule in words; empty when every judged rule held. */
  failed: string[];
}

/** The comparison of a run's values with its baseline's (or why there is none). */
export function compareWithBaseline(
  rules: readonly CompareRule[],
  kind: BaselineKind,
  run: MetricValues | undefined,
  baseline: { runId: string; metrics: MetricValues } | string,
): Comparison {
  const none = (missing: string): Comparison => ({
    baseline: kind,
    baselineRunId: typeof baseline === 'string' ? null : baseline.runId,
    missing,
    rules: [],
    failed: [],
  });
  if (typeof baseline === 'string') return none(baseline);
  if (!run) return none('the run exported no summary');
  const results = evaluateRules(rules, run, baseline.metrics);
  const failed = results.filter((r) => r.passed === false).map((r) => describeFailedRule(r, kind));
  return { baseline: kind, baselineRunId: baseline.runId, missing: null, rules: results, failed };
}

/** Every rule with its two values, one line each (Slack, logs): `✓ http_req_duration p(95)
 * 120ms, baseline 118ms (limit 192ms)`; or why nothing was compared. */
export function describeComparison(c: Comparison): string[] {
  if (c.missing !== null) return [`not compared with the ${c.baseline} baseline: ${c.missing}`];
  return c.rules.map((r) => {
    const show = (n: number | null) => showValue(r.metric, n);
    const mark = r.passed === null ? '–' : r.passed ? '✓' : '✗';
    return `${mark} ${r.metric} ${r.stat} ${show(r.value)}, ${c.baseline} baseline ${show(r.baseline)} (limit ${r.op} ${show(r.limit)})`;
  });
}
