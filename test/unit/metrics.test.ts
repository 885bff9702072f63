// The metrics registry's exposition, exactly, and its guards; the process_* family.

import { describe, expect, test } from 'bun:test';
import { createMetricsRegistry } from '../../src/core/metrics.ts';
import { readProcessStats, registerProcessMetrics } from '../../src/core/process-metrics.ts';

describe('exposition', () => {
  test('counters, gauges, collected gauges and histograms render exactly', () => {
    const m = createMetricsRegistry();
    const runs = m.counter('k6gate_runs_total', 'Finished runs by verdict');
    runs.inc({ verdict: 'passed' });
    runs.inc({ verdict: 'passed' }, 2);
    runs.inc({ verdict: 'failed' });
    m.gauge('k6gate_build_info', 'Always 1').set(1, { version: 'v1 "quoted"\\path\nnext' });
    m.collectedGauge('slots_free', 'Free slots\nsecond line with \\ backslash', () => 3);
    const h = m.histogram('run_seconds', 'Run time', [5, 1]);
    h.observe(0.5, { verdict: 'passed' });
    h.observe(3, { verdict: 'passed' });
    h.observe(7, { verdict: 'passed' });
    expect(m.render()).toBe(
      [
        '# HELP k6gate_runs_total Finished runs by verdict',
        '# TYPE k6gate_runs_total counter',
        'k6gate_runs_total{verdict="passed"} 3',
        'k6gate_runs_total{verdict="failed"} 1',
        '# HELP k6gate_build_info Always 1',
        '# TYPE k6gate_build_info gauge',
        'k6gate_build_info{version="v1 \\"quoted\\"\\\\path\\nnext"} 1',
        '# HELP slots_free Free slots\\nsecond line with \\\\ backslash',
        '# TYPE slots_free gauge',
        'slots_free 3',
        '# HELP run_seconds Run time',
        '# TYPE run_seconds histogram',
        'run_seconds_bucket{verdict="passed",le="1"} 1',
        'run_seconds_bucket{verdict="passed",le="5"} 2',
        'run_seconds_bucket{verdict="passed",le="+Inf"} 3',
        'run_seconds_sum{verdict="passed"} 10.5',
        'run_seconds_count{verdict="passed"} 3',
        '',
      ].join('\n'),
    );
  });
  test('label order does not split a series', () => {
    const m = createMetricsRegistry();
    const c = m.counter('c_total', 'c');
    c.inc({ a: '1', b: '2' });
    c.inc({ b: '2', a: '1' });
    expect(m.render()).toContain('c_total{a="1",b="2"} 2\n');
  });
});

describe('guards', () => {
  test('a name registered twice throws', () => {
    const m = createMetricsRegistry();
    m.counter('x_total', 'x');
    expect(() => m.collectedGauge('x_total', 'again', () => 1)).toThrow(
      'metric x_total registered twice',
    );
  });
  test.each(['1bad', 'has-dash', 'sp ace', ''])('metric name %p is refused', (name) => {
    expect(() => createMetricsRegistry().counter(name, 'h')).toThrow('invalid metric name');
  });
  test.each(['__reserved', 'has-dash', '9x', ''])('label name %p is refused', (label) => {
    const c = createMetricsRegistry().counter('c_total', 'c');
    expect(() => c.inc({ [label]: 'v' })).toThrow('invalid label name');
  });
  test('a histogram may not use "le" itself', () => {
    const h = createMetricsRegistry().histogram('h', 'h', [1]);
    expect(() => h.observe(1, { le: '2' })).toThrow('invalid label name "le"');
  });
  test.each([-5, Number.NaN])('a counter cannot go down: inc(%p) throws', (by) => {
    const m = createMetricsRegistry();
    const c = m.counter('c_total', 'c');
    expect(() => c.inc({}, by)).toThrow(RangeError);
    expect(m.render()).toBe('# HELP c_total c\n# TYPE c_total counter\n');
  });
});

describe('process metrics', () => {
  test('rendered from one read per scrape, as client_golang names them', () => {
    const m = createMetricsRegistry();
    let reads = 0;
    registerProcessMetrics(m, () => {
      reads++;
      return {
        cpuUserSeconds: 1.25,
        cpuSystemSeconds: 0.5,
        residentBytes: 34_000_000,
        virtualBytes: 900_000_000,
        openFds: 12,
        maxFds: undefined,
        startTimeSeconds: 1_764_547_200.5,
      };
    });
    expect(m.render()).toBe(
      [
        '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
        '# TYPE process_cpu_seconds_total counter',
        'process_cpu_seconds_total 1.75',
        '# HELP process_resident_memory_bytes Resident memory size in bytes.',
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes 34000000',
        '# HELP process_virtual_memory_bytes Virtual memory size in bytes.',
        '# TYPE process_virtual_memory_bytes gauge',
        'process_virtual_memory_bytes 900000000',
        '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
        '# TYPE process_start_time_seconds gauge',
        'process_start_time_seconds 1764547200.5',
        '# HELP process_open_fds Number of open file descriptors.',
        '# TYPE process_open_fds gauge',
        'process_open_fds 12',
        '# HELP process_max_fds Maximum number of open file descriptors.',
        '# TYPE process_max_fds gauge',
        'process_max_fds NaN',
        '',
      ].join('\n'),
    );
    expect(reads).toBe(1);
  });
  test('the real reader: this process, from /proc', () => {
    const s = readProcessStats();
    expect(s.residentBytes).toBeGreaterThan(1_000_000);
    expect(s.virtualBytes).toBeGreaterThan(s.residentBytes);
    expect(s.openFds).toBeGreaterThan(2);
    expect(s.maxFds).toBeGreaterThanOrEqual(s.openFds ?? 0);
    expect(s.startTimeSeconds).toBeLessThanOrEqual(Date.now() / 1000);
    expect(s.startTimeSeconds).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(s.cpuUserSeconds + s.cpuSystemSeconds).toBeGreaterThan(0);
  });
});
