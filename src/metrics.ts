// Prometheus metrics in the text exposition format: counters, gauges and histograms with
// labels, kept in one registry object that main.ts creates and passes in.

type Labels = Record<string, string>;

interface Series {
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}
export interface Gauge {
  set(value: number, labels?: Labels): void;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface MetricsRegistry {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string, collect?: () => number): Gauge;
  histogram(name: string, help: string, buckets: number[]): Histogram;
  render(): string;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const body = entries
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',');
  return `{${body}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export function createMetricsRegistry(): MetricsRegistry {
  const families: Family[] = [];

  const seriesFamily = (name: string, help: string, type: 'counter' | 'gauge') => {
    const series = new Map<string, Series>();
    families.push({
      name,
      help,
      type,
      render: () =>
        [...series.values()].map(
          (s) => `${name}${formatLabels(s.labels)} ${formatNumber(s.value)}`,
        ),
    });
    return series;
  };

  return {
    counter(name, help) {
      const series = seriesFamily(name, help, 'counter');
      return {
        inc(labels = {}, by = 1) {
          const key = keyOf(labels);
          const s = series.get(key) ?? { labels, value: 0 };
          s.value += by;
          series.set(key, s);
        },
      };
    },
    gauge(name, help, collect) {
      if (collect) {
        families.push({
          name,
          help,
          type: 'gauge',
          render: () => [`${name} ${formatNumber(collect())}`],
        });
        return { set() {} };
      }
      const series = seriesFamily(name, help, 'gauge');
      return {
        set(value, labels = {}) {
          series.set(keyOf(labels), { labels, value });
        },
      };
    },
    histogram(name, help, buckets) {
      const sorted = [...buckets].sort((a, b) => a - b);
      const series = new Map<
        string,
        { labels: Labels; counts: number[]; sum: number; count: number }
      >();
      families.push({
        name,
        help,
        type: 'histogram',
        render: () =>
          [...series.values()].flatMap((s) => [
            ...sorted.map(
              (le, i) =>
                `${name}_bucket${formatLabels({ ...s.labels, le: formatNumber(le) })} ${s.counts[i]}`,
            ),
            `${name}_bucket${formatLabels({ ...s.labels, le: '+Inf' })} ${s.count}`,
            `${name}_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`,
            `${name}_count${formatLabels(s.labels)} ${s.count}`,
          ]),
      });
      return {
        observe(value, labels = {}) {
          const key = keyOf(labels);
          let s = series.get(key);
          if (!s) {
            s = { labels, counts: sorted.map(() => 0), sum: 0, count: 0 };
            series.set(key, s);
          }
          sorted.forEach((le, i) => {
            if (value <= le) s.counts[i] = (s.counts[i] ?? 0) + 1;
          });
          s.sum += value;
          s.count += 1;
        },
      };
    },
    render() {
      return `${families
        .flatMap((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render()])
        .join('\n')}\n`;
    },
  };
}
