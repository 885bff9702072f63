// One summary of a test spread over several k6 runners (k6-operator runs), from each runner's
// end-of-test text summary (k6 v1/v2 compact and legacy forms). Counts and rates are summed
// exactly; a trend's min is the lowest and its max the highest runner's; its avg, med and
// percentiles are the highest runner's value, labelled as an upper bound (the true percentile of
// the union lies between the runners' lowest and highest). k6 evaluates thresholds per runner.

import type { SummaryExport } from './summary-export.ts';

interface Counter {
  kind: 'counter';
  /** In the base unit (bytes for data), with the unit k6 printed. */
  count: number;
  unit: string;
  perSecond: number;
}
interface Rate {
  kind: 'rate';
  hits: number;
  total: number;
}
interface Trend {
  kind: 'trend';
  /** stat name → value in the metric's base unit (ms for times), with the text k6 printed. */
  stats: Map<string, { value: number; text: string }>;
}
type Metric = Counter | Rate | Trend;

const LINE = /^\s*(?:[✓✗]\s+)?([A-Za-z_]\w*|\{[^}]*\})\.*:\s+(.+)$/;
const UNITS: Record<string, number> = {
  ns: 1e-6,
  µs: 1e-3,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  B: 1,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

function quantity(text: string): { value: number; unit: string } | undefined {
  const m = /^(-?[0-9.]+)\s*([a-zµA-Z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : UNITS[unit];
  return factor === undefined ? undefined : { value: Number(m[1]) * factor, unit };
}

/** Reads one summary line's values; undefined for what is not a metric (checks, headers). */
function parseValues(values: string): Metric | undefined {
  const rate =
    /^([0-9.]+)%\s+([0-9]+) out of ([0-9]+)/.exec(values) ??
    /^([0-9.]+)%\s+✓\s+([0-9]+)\s+✗\s+([0-9]+)/.exec(values);
  if (rate) {
    const hits = Number(rate[2]);
    const total = values.includes('out of') ? Number(rate[3]) : hits + Number(rate[3]);
    return { kind: 'rate', hits, total };
  }
  if (values.includes('=')) {
    const stats = new Map<string, { value: number; text: string }>();
    for (const [, name, text] of values.matchAll(/([a-z]+|p\([0-9.]+\))=(\S+)/g)) {
      const q = quantity(text!);
      if (q) stats.set(name!, { value: q.value, text: text! });
    }
    return stats.size ? { kind: 'trend', stats } : undefined;
  }
  const counter = /^([0-9.]+\s*[a-zµA-Z]*)\s+([0-9.]+\s*[a-zµA-Z]*)\/s$/.exec(values.trim());
  const q = counter && quantity(counter[1]!);
  const perSecond = counter && quantity(counter[2]!);
  if (!q || !perSecond) return undefined;
  return { kind: 'counter', count: q.value, unit: q.unit, perSecond: perSecond.value };
}

/** The metrics of one runner's summary, by name (a submetric as `parent{tags}`). */
export function readSummary(text: string): Map<string, Metric> {
  const metrics = new Map<string, Metric>();
  let parent = '';
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const name = m[1]!.startsWith('{') ? `${parent}${m[1]!.replace(/\s+/g, '')}` : m[1]!;
    if (!m[1]!.startsWith('{')) parent = name;
    const metric = parseValues(m[2]!);
    if (metric) metrics.set(name, metric);
  }
  return metrics;
}

function merge(a: Metric, b: Metric): Metric | undefined {
  if (a.kind === 'counter' && b.kind === 'counter') {
    return { ...a, count: a.count + b.count, perSecond: a.perSecond + b.perSecond };
  }
  if (a.kind === 'rate' && b.kind === 'rate') {
    return { kind: 'rate', hits: a.hits + b.hits, total: a.total + b.total };
  }
  if (a.kind === 'trend' && b.kind === 'trend') {
    const stats = new Map(a.stats);
    for (const [name, s] of b.stats) {
      const mine = stats.get(name);
      const lower = name === 'min';
      if (!mine || (lower ? s.value < mine.value : s.value > mine.value)) stats.set(name, s);
    }
    return { kind: 'trend', stats };
  }
  return undefined;
}

function render(name: string, m: Metric): string {
  if (m.kind === 'rate') {
    const pct = m.total === 0 ? 0 : (100 * m.hits) / m.total;
    return `${name}: ${pct.toFixed(2)}% ${m.hits} out of ${m.total}`;
  }
  if (m.kind === 'counter') {
    const f = UNITS[m.unit] ?? 1;
    const unit = m.unit ? ` ${m.unit}` : '';
    const count = m.unit ? (m.count / f).toFixed(1) : String(m.count);
    return `${name}: ${count}${unit} ${(m.perSecond / f).toFixed(2)}${unit}/s`;
  }
  const stats = [...m.stats].map(([s, v]) =>
    s === 'min' || s === 'max' ? `${s}=${v.text}` : `${s}≤${v.text}`,
  );
  return `${name}: ${stats.join(' ')}`;
}

// The metrics every readable runner reported, merged; undefined when none could be read.
function mergedMetrics(texts: readonly string[]) {
  const read = texts.map(readSummary).filter((m) => m.size > 0);
  if (read.length === 0) return undefined;
  const merged = new Map<string, Metric>();
  for (const [name, first] of read[0]!) {
    let m: Metric | undefined = first;
    for (const other of read.slice(1)) {
      const o = other.get(name);
      m = o && m ? merge(m, o) : undefined;
    }
    if (m) merged.set(name, m);
  }
  return { read: read.length, merged };
}

/** The runners' summaries as k6's summary export would give the numbers (one runner, or
 * several merged as above: a trend's stats other than min/max are the highest runner's, an
 * upper bound), for compare rules and the runs API; undefined when no summary could be read.
 * Thresholds are not in it (k6 evaluated them per runner). */
export function summaryOfRunners(texts: readonly string[]): SummaryExport | undefined {
  const found = mergedMetrics(texts);
  if (!found) return undefined;
  const metrics: SummaryExport['metrics'] = {};
  for (const [name, m] of found.merged) metrics[name] = exportValues(m);
  return { metrics, fromRunnerLogs: true };
}

function exportValues(m: Metric): Record<string, number> {
  if (m.kind === 'counter') return { count: m.count, rate: m.perSecond };
  if (m.kind === 'rate') {
    return { passes: m.hits, fails: m.total - m.hits, value: m.total === 0 ? 0 : m.hits / m.total };
  }
  return Object.fromEntries([...m.stats].map(([stat, v]) => [stat, v.value]));
}

/** The aggregated summary of several runners' summaries; undefined when fewer than two could be
 * read (a runner's log may be unavailable). Only metrics every readable runner reported. */
export function mergeSummaries(texts: readonly string[]): string | undefined {
  const found = mergedMetrics(texts);
  if (!found || found.read < 2) return undefined;
  const lines = [...found.merged].map(([name, m]) => `  ${render(name, m)}`);
  return [
    `k6gate: summary of ${found.read} of ${texts.length} runners (counts and rates summed; trend values marked ≤ are the highest runner's, an upper bound; k6 evaluated thresholds per runner)`,
    ...lines,
  ].join('\n');
}
