// GET /metrics through the whole app: the daemon's own families, exactly, after a passing and a
// failing run (scripted runner), followed by the process_* family.

import { expect, test } from 'bun:test';
import { buildTestDaemon, flaggerPayload } from '../helpers/daemon.ts';
import { createManualClock } from '../helpers/manual-clock.ts';
import { createScriptedRunner } from '../helpers/scripted-runner.ts';

/** Posts a launch for canary `name` and starts its scripted run; the answer is wrapped, so
 * awaiting this does not wait for it (the caller finishes the run first). */
function launcher(
  daemon: ReturnType<typeof buildTestDaemon>['daemon'],
  runs: ReturnType<typeof createScriptedRunner>['runs'],
) {
  return async (name: string) => {
    const res = daemon.app.handle(
      new Request('http://k6gate/launch-test', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(flaggerPayload({ script: name }, { name })),
      }),
    );
    await Bun.sleep(0);
    runs.at(-1)?.start();
    await Bun.sleep(0);
    return { res };
  };
}

test('/metrics: daemon families exactly, then process_*', async () => {
  const { runner, runs } = createScriptedRunner();
  const { daemon } = buildTestDaemon({
    args: ['--max-concurrent-tests', '3'],
    secrets: { resolve: async () => ({}) },
    version: '1.2.3',
    clock: createManualClock(),
    runner,
  });
  const launch = launcher(daemon, runs);
  const passed = await launch('ok');
  runs.at(-1)?.finish({ durationMs: 2000 });
  expect((await passed.res).status).toBe(200);
  const failed = await launch('bad');
  runs.at(-1)?.finish({ verdict: 'failed', exitCode: 99, durationMs: 40_000 });
  expect((await failed.res).status).toBe(400);
  const res = await daemon.app.handle(new Request('http://k6gate/metrics'));
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const buckets = (verdict: string, counts: number[]) =>
    [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600].map(
      (le, i) => `k6gate_run_duration_seconds_bucket{verdict="${verdict}",le="${le}"} ${counts[i]}`,
    );
  const daemonPart = [
    '# HELP k6gate_build_info Always 1; the version is a label',
    '# TYPE k6gate_build_info gauge',
    'k6gate_build_info{version="1.2.3"} 1',
    '# HELP launch_max_concurrent_tests Runs allowed at once',
    '# TYPE launch_max_concurrent_tests gauge',
    'launch_max_concurrent_tests 3',
    '# HELP launch_available_concurrent_tests Free run slots; at 0 new requests get 429',
    '# TYPE launch_available_concurrent_tests gauge',
    'launch_available_concurrent_tests 3',
    '# HELP k6gate_runs_in_progress k6 runs alive now',
    '# TYPE k6gate_runs_in_progress gauge',
    'k6gate_runs_in_progress 0',
    '# HELP k6gate_failure_cache_entries Hooks in the failure cache',
    '# TYPE k6gate_failure_cache_entries gauge',
    'k6gate_failure_cache_entries 1',
  ];
  const launchPart = [
    '# HELP k6gate_runs_total Finished k6 runs by verdict',
    '# TYPE k6gate_runs_total counter',
    'k6gate_runs_total{verdict="passed"} 1',
    'k6gate_runs_total{verdict="failed"} 1',
    '# HELP k6gate_canary_runs_total Finished k6 runs by canary (canary_namespace, canary; the first 500, then _other), runner and verdict',
    '# TYPE k6gate_canary_runs_total counter',
    'k6gate_canary_runs_total{canary_namespace="test",canary="ok",runner="local",verdict="passed"} 1',
    'k6gate_canary_runs_total{canary_namespace="test",canary="bad",runner="local",verdict="failed"} 1',
    '# HELP k6gate_run_duration_seconds Duration of k6 runs by verdict',
    '# TYPE k6gate_run_duration_seconds histogram',
    ...buckets('passed', [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
    'k6gate_run_duration_seconds_bucket{verdict="passed",le="+Inf"} 1',
    'k6gate_run_duration_seconds_sum{verdict="passed"} 2',
    'k6gate_run_duration_seconds_count{verdict="passed"} 1',
    ...buckets('failed', [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
    'k6gate_run_duration_seconds_bucket{verdict="failed",le="+Inf"} 1',
    'k6gate_run_duration_seconds_sum{verdict="failed"} 40',
    'k6gate_run_duration_seconds_count{verdict="failed"} 1',
    '# HELP k6gate_admission_rejections_total Launch requests refused before a run, by reason',
    '# TYPE k6gate_admission_rejections_total counter',
    '# HELP launch_requests_total /launch-test answers by code',
    '# TYPE launch_requests_total counter',
    'launch_requests_total{code="200"} 1',
    'launch_requests_total{code="400"} 1',
  ];
  const lines = text.split('\n');
  const processStart = lines.indexOf(
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
  );
  expect(processStart).toBeGreaterThan(0);
  const withoutProcess = [...lines.slice(0, processStart), ...lines.slice(processStart + 18)];
  expect(withoutProcess.join('\n')).toBe([...daemonPart, ...launchPart, ''].join('\n'));
  expect(
    lines.slice(processStart, processStart + 18).filter((l) => l.startsWith('process_')),
  ).toHaveLength(6);
});

test('k6gate_canary_runs_total keeps 500 canaries apart, then counts the rest as _other', async () => {
  const { runner, runs } = createScriptedRunner();
  const { daemon } = buildTestDaemon({ runner, clock: createManualClock() });
  const launch = launcher(daemon, runs);
  for (let i = 0; i < 502; i++) {
    const { res } = await launch(`c${i}`);
    runs.at(-1)?.finish({ durationMs: 10 });
    expect((await res).status).toBe(200);
  }
  const text = await (await daemon.app.handle(new Request('http://k6gate/metrics'))).text();
  const series = text.split('\n').filter((l) => l.startsWith('k6gate_canary_runs_total{'));
  expect(series).toHaveLength(501);
  expect(series).toContain(
    'k6gate_canary_runs_total{canary_namespace="test",canary="c499",runner="local",verdict="passed"} 1',
  );
  expect(series).toContain(
    'k6gate_canary_runs_total{canary_namespace="_other",canary="_other",runner="local",verdict="passed"} 2',
  );
});
