// The HTTP contract on a real socket (127.0.0.1, port 0) with real k6 children (the contract
// double): 429 under a real burst, validation before slots, client disconnect, SIGTERM then
// SIGKILL, output caps, and no zombies or temp files left behind.

import { doubleScript, zombieChildren } from '../helpers/processes.ts';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flaggerPayload, postLaunch, waitFor, startInProcess } from '../helpers/daemon.ts';

let tempRoot: string;
const running: { close(): Promise<void> }[] = [];

beforeEach(() => {
  tempRoot = mkdtempSync(join(tmpdir(), 'k6gate-contract-'));
});
afterEach(async () => {
  for (const d of running.splice(0)) await d.close();
  expect(zombieChildren()).toEqual([]);
  expect(readdirSync(tempRoot)).toEqual([]);
  rmSync(tempRoot, { recursive: true, force: true });
});
afterAll(async () => {
  expect(zombieChildren()).toEqual([]);
});

function start(args: string[] = []) {
  const d = startInProcess({ args: ['--temp-dir', tempRoot, ...args] });
  running.push(d);
  return d;
}
const runsIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('k6gate-run-'));

describe('admission', () => {
  test('at capacity: a real burst gets 429 with a small Retry-After; bad input still 400', async () => {
    const d = start(['--max-concurrent-tests', '2']);
    const hang = flaggerPayload({ script: doubleScript('mode=hang'), wait_for_results: 'false' });
    for (const name of ['a', 'b']) {
      const res = await postLaunch(d.url, { ...hang, name });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
    }
    const burst = await Promise.all(
      Array.from({ length: 25 }, (_, i) => postLaunch(d.url, { ...hang, name: `burst-${i}` })),
    );
    for (const res of burst) {
      expect(res.status).toBe(429);
      expect(await res.text()).toBe('Maximum concurrent test runs reached\n');
      const retry = Number(res.headers.get('retry-after'));
      expect(Number.isInteger(retry)).toBe(true);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
    }
    const bad = await postLaunch(d.url, { name: 'x' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('namespace: missing namespace');
    expect(runsIn(tempRoot)).toHaveLength(2);
  }, 30_000);

  test('a failed run fails reruns within min_failure_delay, others go ahead', async () => {
    const d = start();
    const failing = flaggerPayload({ script: doubleScript('mode=fail-thresholds duration=0s') });
    const first = await postLaunch(d.url, failing);
    expect(first.status).toBe(400);
    expect((await first.text()).split('\n')[0]).toMatch(
      /^failed to run: exit status 99 \(thresholds crossed/,
    );
    const rerun = await postLaunch(d.url, failing);
    expect(rerun.status).toBe(400);
    expect(await rerun.text()).toStartWith('not enough time since last failure');
    const otherPhase = await postLaunch(d.url, { ...failing, phase: 'Succeeded' });
    expect((await otherPhase.text()).split('\n')[0]).toStartWith('failed to run: exit status 99');
    const disabled = await postLaunch(d.url, {
      ...failing,
      metadata: { ...failing.metadata, min_failure_delay: '0s' },
    });
    expect((await disabled.text()).split('\n')[0]).toStartWith('failed to run: exit status 99');
  }, 30_000);
});

describe('verdicts', () => {
  test('exit 0 → 200 with k6 output; other codes → 400 naming the reason', async () => {
    const d = start();
    const pass = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass duration=0s') }),
    );
    expect(pass.status).toBe(200);
    const body = await pass.text();
    expect(body).toMatch(/output: -/);
    for (const [directive, reason] of [
      ['mode=exception', /exit status 107: script error/],
      ['mode=abort duration=0s', /exit status 108 \(the script called test.abort\(\)\)/],
      [
        'mode=marked-failed duration=0s',
        /exit status 110 \(the script marked the test as failed\)/,
      ],
    ] as const) {
      const res = await postLaunch(
        d.url,
        flaggerPayload(
          { script: doubleScript(directive), min_failure_delay: '0' },
          { name: directive.slice(5, 14).replace(/[^a-z]/g, '') },
        ),
      );
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(reason);
    }
  }, 30_000);

  test('k6 that dies before its banner answers at once, not after a start window', async () => {
    const d = start(['--start-timeout', '30s']);
    const t0 = performance.now();
    const res = await postLaunch(d.url, flaggerPayload({ script: doubleScript('mode=exception') }));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(
      /^error while waiting for test to start: k6 exited before starting \(exit status 107/,
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
  }, 30_000);

  test('no banner within the start timeout → killed, 400 "timeout"', async () => {
    const d = start(['--start-timeout', '500ms', '--kill-grace-period', '2s']);
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=slow-start start-delay=20s') }),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe(
      'error while waiting for test to start: timeout',
    );
  }, 30_000);

  test('upload_to_cloud, no cloud URL, and k6 already gone → still a clear 400', async () => {
    const d = start(['--cloud-token', 'tok']);
    for (let i = 0; i < 5; i++) {
      const res = await postLaunch(
        d.url,
        flaggerPayload(
          {
            script: doubleScript('mode=pass duration=0s cloud-url=none'),
            upload_to_cloud: 'true',
            min_failure_delay: '0',
          },
          { name: `gone-${i}` },
        ),
      );
      expect(res.status).toBe(400);
      expect((await res.text()).split('\n')[0]).toBe("couldn't find the cloud URL in the output");
    }
  }, 30_000);

  test('upload_to_cloud without a cloud URL in the banner → 400', async () => {
    const d = start(['--cloud-token', 'tok']);
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=hang cloud-url=none'), upload_to_cloud: 'true' }),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe("couldn't find the cloud URL in the output");
  }, 30_000);
});

describe('supervision', () => {
  test('run deadline: SIGTERM, k6 prints its summary and exits 105', async () => {
    const d = start(['--max-run-duration', '1s', '--kill-grace-period', '10s']);
    const res = await postLaunch(d.url, flaggerPayload({ script: doubleScript('mode=hang') }));
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.split('\n')[0]).toBe(
      'failed to run: exit status 105 (stopped at the run deadline (max run duration))',
    );
    // k6 printed its end-of-test summary on the way out (the graceful stop).
    expect(text).toContain('█ TOTAL RESULTS');
    expect(text).toMatch(/^\s+iterations\.+: \d+/m);
  }, 30_000);

  test('k6 ignoring SIGTERM is SIGKILLed after the grace period', async () => {
    const d = start(['--max-run-duration', '1s', '--kill-grace-period', '500ms']);
    const t0 = performance.now();
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=ignore-sigterm') }),
    );
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe(
      'failed to run: signal: killed (stopped at the run deadline (max run duration); killed after the grace period)',
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
  }, 30_000);

  test('the caller going away cancels a waited run once the re-attach grace passed with no retry', async () => {
    const d = start(['--kill-grace-period', '5s', '--reattach-grace', '1s']);
    const controller = new AbortController();
    const pending = postLaunch(d.url, flaggerPayload({ script: doubleScript('mode=hang') }), {
      signal: controller.signal,
    }).catch((err: Error) => err);
    await waitFor(() => d.records.some((r) => r.msg === 'waiting for the results'));
    controller.abort();
    expect(((await pending) as Error).name).toBe('AbortError');
    await waitFor(() =>
      d.records.some(
        (r) =>
          r.msg.includes('failed') && r.reason === 'canceled: the caller closed the connection',
      ),
    );
    const stopped = d.records.find((r) => r.msg === 'stopping k6');
    expect(stopped?.reason).toBe('client-gone');
    await waitFor(() => d.daemon.registry.running().length === 0);
    expect(d.daemon.semaphore.inUse()).toBe(0);
  }, 30_000);

  // Memory and disk under a flood are measured on the compiled daemon (e2e/hardening.test.ts).
  test('a flood of output stays capped in the answer; every byte is counted', async () => {
    const d = start(['--max-output-bytes', '65536']);
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript(`mode=flood flood-bytes=${64 * 1024 * 1024}`) }),
    );
    const text = await res.text();
    // The first 32 KiB of k6's output are kept, less k6's logo (never in an answer).
    const kept = Buffer.byteLength(text.slice(0, text.indexOf('\n[… k6gate: ')));
    expect(kept).toBeLessThanOrEqual(32 * 1024);
    expect(kept).toBeGreaterThan(32 * 1024 - 512);
    expect(text.trimStart()).toStartWith('execution: local');
    const verdict = d.records.find((r) => r.msg.startsWith('the load test for'));
    expect(verdict?.truncated).toBe(true);
    expect(Number(verdict?.outputBytes)).toBeGreaterThan(64 * 1024 * 1024);
    expect(text).toContain(`bytes of output omitted`);
    expect(Buffer.byteLength(text)).toBeLessThan(65536 + 256);
  }, 60_000);
});

describe('long waits', () => {
  test('a waited run silent for more than 35 s is not cut by the idle timeout', async () => {
    const d = start();
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass duration=36s quiet-progress=true') }),
    );
    expect(res.status).toBe(200);
  }, 60_000);
});

describe('many quiet runs', () => {
  // Regression: output read through node's fs streams parked one thread-pool thread per quiet
  // pipe, so after four silent runs no other run's banner was ever read.
  test('40 runs that print nothing after their banner do not starve a 41st', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'k6gate-quiet-'));
    const quiet = join(bin, 'k6');
    writeFileSync(quiet, '#!/bin/sh\necho "         output: -"\nexec sleep 30\n', { mode: 0o755 });
    const d = start(['--k6-binary', quiet, '--kill-grace-period', '1s']);
    const body = (name: string) =>
      flaggerPayload(
        { script: 'export default function () {}', wait_for_results: 'false' },
        { name },
      );
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => postLaunch(d.url, body(`q${i}`))),
    );
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 40 }, () => 200));
    const res = await postLaunch(d.url, body('the-41st'));
    expect(res.status).toBe(200);
    expect(d.daemon.registry.running()).toHaveLength(41);
    await d.close();
    rmSync(bin, { recursive: true, force: true });
  }, 60_000);
});

describe("k6gate's own misconfiguration", () => {
  test('k6 missing: 503 with Retry-After naming the setting, logged as an error, not a failed test', async () => {
    const d = start(['--k6-binary', '/nonexistent/k6']);
    const res = await postLaunch(d.url, flaggerPayload({ script: doubleScript('mode=pass') }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await res.text()).toBe(
      'k6 not found: "/nonexistent/k6" is not an executable file or on PATH; set --k6-binary / K6_BINARY (the k6gate image ships /usr/bin/k6)\n',
    );
    const refused = d.records.find((r) => r.msg === 'launch request refused');
    expect(refused).toMatchObject({ level: 'error', status: 503, code: 'misconfigured' });
    expect(d.records.some((r) => r.code === 'test_failed')).toBe(false);
    expect(d.daemon.failures.size()).toBe(0); // a retry once k6 is there is not refused as "recent"
    expect(d.daemon.semaphore.inUse()).toBe(0);
  });

  test('a temp dir k6gate cannot write: 503 naming --temp-dir, not a failed test', async () => {
    const d = start(['--temp-dir', '/nonexistent/k6gate-tmp']);
    const res = await postLaunch(d.url, flaggerPayload({ script: doubleScript('mode=pass') }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await res.text()).toMatch(
      /^cannot create a run directory in \/nonexistent\/k6gate-tmp: .*ENOENT.*; set --temp-dir \/ TEMP_DIR to a writable directory/,
    );
    expect(d.daemon.failures.size()).toBe(0);
    expect(d.daemon.semaphore.inUse()).toBe(0);
  });
});

describe('feedback on long runs', () => {
  test('a held run logs "still running" with the elapsed time and k6\'s last progress line', async () => {
    await using d = startInProcess({ args: ['--progress-interval', '1200ms'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass duration=4s') }),
    );
    expect(res.status).toBe(200);
    const ticks = d.records.filter((r) => r.msg === 'still running');
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks[0]).toMatchObject({ level: 'info', canary: expect.stringContaining('/') });
    expect(ticks.at(-1)!.progress).toMatch(/default\s+\[\s*\d+% \]/);
    expect(ticks.at(-1)!.elapsedSeconds).toBeGreaterThanOrEqual(2);
    const after = ticks.length;
    await Bun.sleep(1500); // none after the verdict
    expect(d.records.filter((r) => r.msg === 'still running').length).toBe(after);
  }, 20_000);
});

describe('Prometheus remote write (--prometheus-rw-url, --grafana-url)', () => {
  const RW = 'http://127.0.0.1:9/api/v1/write';
  const GRAFANA = 'https://grafana.example/d/k6/k6-prometheus';
  const sha = (v: string) => new Bun.CryptoHasher('sha256').update(v).digest('hex');
  const script = doubleScript(
    'mode=pass duration=0s report-argv=true report-env=K6_PROMETHEUS_RW_SERVER_URL,K6_PROMETHEUS_RW_TREND_STATS',
  );

  test('every run remote-writes, tagged testid=<namespace>/<name>/<run id>; the answer and the log link the dashboard', async () => {
    await using d = startInProcess({ args: ['--prometheus-rw-url', RW, '--grafana-url', GRAFANA] });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script }, { namespace: 'team-a', name: 'web' }),
    );
    expect(res.status).toBe(200);
    const body = await res.text();
    const runId = d.records.find((r) => r.msg === 'launched k6')!.runId as string;
    const testId = `team-a/web/${runId}`;
    const argv = JSON.parse(/k6-double argv (.*)/.exec(body)![1]!) as string[];
    expect(argv.slice(0, 5)).toEqual([
      'run',
      '--out',
      'experimental-prometheus-rw',
      '--tag',
      `testid=${testId}`,
    ]);
    expect(body).toContain(`output: Prometheus remote write (${RW})`);
    expect(body).toContain(`k6-double env K6_PROMETHEUS_RW_SERVER_URL sha256=${sha(RW)}`);
    expect(body).toContain(
      `k6-double env K6_PROMETHEUS_RW_TREND_STATS sha256=${sha('p(95),p(99),min,max')}`,
    );
    const link = `${GRAFANA}?var-testid=${encodeURIComponent(testId)}`;
    expect(body.trimEnd().split('\n').at(-1)).toBe(`k6gate: dashboard: ${link}`);
    expect(d.records.find((r) => r.msg === 'launched k6')).toMatchObject({ dashboardUrl: link });
  });

  test('metadata prometheus_rw "false" opts a run out; a caller cannot point it elsewhere', async () => {
    await using d = startInProcess({ args: ['--prometheus-rw-url', RW, '--grafana-url', GRAFANA] });
    const res = await postLaunch(d.url, flaggerPayload({ script, prometheus_rw: 'false' }));
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).not.toContain('experimental-prometheus-rw');
    expect(body).toContain('k6-double env K6_PROMETHEUS_RW_SERVER_URL unset');
    expect(body).not.toContain('k6gate: dashboard:');
    const hijack = await postLaunch(
      d.url,
      flaggerPayload({
        script,
        env_vars: JSON.stringify({ K6_PROMETHEUS_RW_SERVER_URL: 'http://evil/' }),
      }),
    );
    expect(hijack.status).toBe(400);
    expect(await hijack.text()).toContain('K6_PROMETHEUS_RW_SERVER_URL may not be set');
  });
});

describe('re-attaching a retried blocking call', () => {
  test("Flagger's retry after its client timeout waits on the same k6 process: one process, two requests", async () => {
    await using d = startInProcess({ args: ['--reattach-grace', '5s'] });
    const body = flaggerPayload({ script: doubleScript('mode=pass duration=3s') });
    const gone = new AbortController();
    const first = postLaunch(d.url, body, { signal: gone.signal }).catch((e: Error) => e);
    await waitFor(() => d.records.some((r) => r.msg === 'waiting for the results'));
    const pid = d.daemon.registry.running()[0]?.pid;
    gone.abort(); // the client timeout
    expect(await first).not.toBeInstanceOf(Response);
    const retry = await postLaunch(d.url, body);
    expect(retry.status).toBe(200);
    expect(await retry.text()).toContain('output: -');
    expect(d.records.filter((r) => r.msg === 'launched k6')).toHaveLength(1);
    const attached = d.records.find((r) =>
      r.msg.startsWith('attaching to the run already under way'),
    );
    expect(attached).toBeDefined();
    expect(pid).toBeGreaterThan(0);
    expect(d.records.some((r) => r.msg === 'stopping k6')).toBe(false);
  }, 20_000);
});
