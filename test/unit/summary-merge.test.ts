// Merging runners' end-of-test summaries (k6-operator runs): counts and rates summed exactly,
// trend min/max from the lowest/highest runner, other trend stats as an upper bound.

import { expect, test } from 'bun:test';
import { mergeSummaries, readSummary, summaryOfRunners } from '../../src/k6/summary-merge.ts';

// k6 v1 compact summaries of two runners (the format of grafana.com/docs/k6 "End of test").
const runner = (reqs: number, failed: number, p95: string, max: string, data: string) => `
  █ THRESHOLDS

    http_req_duration
    ✓ 'p(95)<300' p(95)=${p95}

  █ TOTAL RESULTS

    checks_total.......................: ${reqs}      13.1/s
    checks_succeeded...................: 100.00% ${reqs} out of ${reqs}

    HTTP
    http_req_duration..................: avg=140.36ms   min=119.08ms med=140.96ms max=${max} p(90)=146.88ms p(95)=${p95}
      { expected_response:true }.......: avg=140.36ms   min=119.08ms med=140.96ms max=${max} p(90)=146.88ms p(95)=${p95}
    http_req_failed....................: ${((100 * failed) / reqs).toFixed(2)}%  ${failed} out of ${reqs}
    http_reqs..........................: ${reqs}     6.5/s

    NETWORK
    data_received......................: ${data} 31 kB/s
`;

test('two runners: counts summed, rates recomputed, trend bounds', () => {
  const merged = mergeSummaries([
    runner(45, 0, '148.21ms', '154.63ms', '1.3 MB'),
    runner(55, 11, '1.2s', '2.5s', '700 kB'),
  ])!;
  expect(merged).toContain('summary of 2 of 2 runners');
  expect(merged).toContain('  http_reqs: 100 13.00/s');
  expect(merged).toContain('  http_req_failed: 11.00% 11 out of 100');
  expect(merged).toContain('  checks_succeeded: 100.00% 100 out of 100');
  expect(merged).toContain('  data_received: 2.0 MB 0.06 MB/s');
  expect(merged).toContain(
    '  http_req_duration: avg≤140.36ms min=119.08ms med≤140.96ms max=2.5s p(90)≤146.88ms p(95)≤1.2s',
  );
  expect(merged).toContain('http_req_duration{expected_response:true}: avg≤');
});

test('legacy form (✓ n ✗ m) reads as a rate; an unreadable runner log is left out', () => {
  const legacy = readSummary('http_req_failed................: 0.00% ✓ 0 ✗ 180\n');
  expect(legacy.get('http_req_failed')).toEqual({ kind: 'rate', hits: 0, total: 180 });
  const one = runner(45, 0, '1ms', '2ms', '1 kB');
  expect(mergeSummaries([one, "(k6gate: the runner's log is not available: HTTP 500)"])).toBe(
    undefined,
  );
  expect(mergeSummaries([one, one, 'nothing'])).toContain('summary of 2 of 3 runners');
});

test('the runners as a summary export: one runner, or several merged; nothing readable: none', () => {
  const one = summaryOfRunners([runner(45, 0, '148.21ms', '154.63ms', '1.3 MB')])!;
  expect(one.fromRunnerLogs).toBe(true);
  expect(one.metrics.http_reqs).toEqual({ count: 45, rate: 6.5 });
  expect(one.metrics.http_req_failed).toEqual({ passes: 0, fails: 45, value: 0 });
  expect(one.metrics.http_req_duration?.['p(95)']).toBeCloseTo(148.21);
  expect(one.metrics['http_req_duration{expected_response:true}']?.max).toBeCloseTo(154.63);
  const two = summaryOfRunners([
    runner(45, 0, '148.21ms', '154.63ms', '1.3 MB'),
    runner(55, 11, '1.2s', '2.5s', '700 kB'),
  ])!;
  expect(two.metrics.http_reqs?.count).toBe(100);
  expect(two.metrics.http_req_failed?.value).toBeCloseTo(0.11);
  expect(two.metrics.http_req_duration?.['p(95)']).toBe(1200); // the highest runner's, in ms
  expect(
    summaryOfRunners(["(k6gate: the runner's log is not available: HTTP 500)"]),
  ).toBeUndefined();
});
