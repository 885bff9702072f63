// The launch rules through the whole app (app.handle, no socket), with the scripted runner:
// admission order (validation → policy → failure cache → slot), slot release on every path,
// the failure cache's key and window, and cancellation when a waited caller goes away.

import { describe, expect, test } from 'bun:test';
import { BadRequest, Upstream } from '../../src/core/errors.ts';
import type { SecretSource } from '../../src/kube/secret-source.ts';
import { buildTestDaemon, flaggerPayload } from '../helpers/daemon.ts';
import { createManualClock } from '../helpers/manual-clock.ts';
import { createScriptedRunner } from '../helpers/scripted-runner.ts';
import { tailForLog } from '../../src/launch/follow.ts';

function setup(args: string[] = [], secrets: SecretSource = { resolve: async () => ({}) }) {
  const scripted = createScriptedRunner();
  const clock = createManualClock();
  const { daemon, records } = buildTestDaemon({
    args: ['--max-concurrent-tests', '2', ...args],
    secrets,
    clock,
    runner: scripted.runner,
  });
  const post = (body: unknown, signal?: AbortSignal) =>
    daemon.app.handle(
      new Request('http://k6gate/launch-test', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      }),
    );
  return { ...scripted, clock, daemon, post, records };
}

const asyncRun = (script = 'export default function () {}', over = {}) =>
  flaggerPayload({ script, wait_for_results: 'false' }, over);

describe('admission order', () => {
  test('a slot is held from start to result, and freed however the run ends', async () => {
    const { post, runs, daemon } = setup();
    const a = post(asyncRun('a', { name: 'a' }));
    const b = post(asyncRun('b', { name: 'b' }));
    await Bun.sleep(0);
    runs.forEach((r) => r.start());
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(daemon.semaphore.inUse()).toBe(2);
    const busy = await post(asyncRun('c', { name: 'c' }));
    expect(busy.status).toBe(429);
    expect(Number(busy.headers.get('retry-after'))).toBe(10); // no history yet
    runs[0]?.finish({ verdict: 'failed', exitCode: 99 });
    runs[1]?.finish();
    await Bun.sleep(0);
    expect(daemon.semaphore.inUse()).toBe(0);
    expect(runs).toHaveLength(2);
  });
  test('at capacity, bad input is still a 400 and an unknown namespace a 403: neither takes a slot', async () => {
    const { post, runs, daemon } = setup(['--allowed-namespaces', 'team-*']);
    const full = [
      post(asyncRun('a', { namespace: 'team-a', name: 'a' })),
      post(asyncRun('b', { namespace: 'team-a', name: 'b' })),
    ];
    await Bun.sleep(0);
    runs.forEach((r) => r.start());
    await Promise.all(full);
    expect(daemon.semaphore.inUse()).toBe(2);
    const res = await post({ name: 'x', namespace: 'team-a', phase: 'Progressing', metadata: {} });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(
      'error while validating request: metadata.script: missing script\n',
    );
    const forbidden = await post(asyncRun('s', { namespace: 'prod' }));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).toBe(
      'error while authorizing request: namespace: namespace "prod" may not run tests here (not in --allowed-namespaces)\n',
    );
    expect(runs).toHaveLength(2);
    expect(daemon.semaphore.inUse()).toBe(2);
  });
  test('a secret error frees the slot; a 4xx arms the failure cache, a 5xx does not', async () => {
    let fail: Error = new Upstream('kubernetes API unreachable');
    const { post, runs, daemon } = setup([], {
      resolve: async () => {
        throw fail;
      },
    });
    const body = asyncRun('s', { namespace: 'test' });
    expect((await post(body)).status).toBe(503);
    expect(daemon.failures.size()).toBe(0);
    fail = new BadRequest('metadata.kubernetes_secrets', 'secret missing');
    expect((await post(body)).status).toBe(400);
    expect(daemon.failures.size()).toBe(1);
    expect(daemon.semaphore.inUse()).toBe(0);
    expect(runs).toHaveLength(0);
  });
});

describe('failure cache (min_failure_delay)', () => {
  async function failOnce(s: ReturnType<typeof setup>, body: object) {
    const waited = s.post({
      ...body,
      metadata: { ...(body as { metadata: object }).metadata, wait_for_results: 'true' },
    });
    await Bun.sleep(0);
    s.runs.at(-1)?.start();
    await Bun.sleep(0);
    s.runs
      .at(-1)
      ?.finish({ verdict: 'failed', exitCode: 99, reason: 'thresholds crossed: http_req_failed' });
    const res = await waited;
    expect(res.status).toBe(400);
    expect((await res.text()).split('\n')[0]).toBe(
      'failed to run: exit status 99 (thresholds crossed: http_req_failed)',
    );
  }
  test('a rerun of the same hook within the delay fails at once; the window does not slide', async () => {
    const s = setup();
    const body = asyncRun('same script');
    await failOnce(s, body);
    s.clock.advance(60_000);
    const early = await s.post(body);
    expect(early.status).toBe(400);
    expect(await early.text()).toBe(
      'not enough time since last failure (min_failure_delay: the same canary and phase failed; retry in 60s)\n',
    );
    s.clock.advance(60_000); // 120 s after the failure, not after the rejection
    const later = s.post(body);
    await Bun.sleep(0);
    s.runs.at(-1)?.start();
    expect((await later).status).toBe(200);
    expect(s.runs).toHaveLength(2);
  });
  test('another revision (checksum) or another hook (script) of the same canary runs; the first still waits', async () => {
    const s = setup();
    const body = asyncRun('hook one');
    await failOnce(s, body);
    for (const other of [{ ...body, checksum: 'new-revision' }, asyncRun('hook two')]) {
      const res = s.post(other);
      await Bun.sleep(0);
      s.runs.at(-1)?.start();
      expect((await res).status).toBe(200);
    }
    // Back to the first script after another: its hook is still the one that failed.
    expect((await s.post(body)).status).toBe(400);
  });
});

describe('cancellation', () => {
  test('--reattach-grace 0: a waited caller that goes away cancels its run (client-gone) at once and frees the slot', async () => {
    const s = setup(['--reattach-grace', '0s']);
    const gone = new AbortController();
    const res = s.post(flaggerPayload({ script: 'x' }), gone.signal).catch((e: unknown) => e);
    await Bun.sleep(0);
    s.runs[0]?.start();
    await Bun.sleep(0);
    gone.abort();
    await res;
    await Bun.sleep(0);
    expect(s.runs[0]?.canceled).toBe('client-gone');
    expect(s.daemon.semaphore.inUse()).toBe(0);
  });
});

describe('re-attaching (Flagger retries a blocking call after its client timeout)', () => {
  const waited = () => flaggerPayload({ script: 'export default function () {}' });

  test('a retry within the grace waits on the run under way: one run, the retry gets its verdict', async () => {
    const s = setup(['--reattach-grace', '2s']);
    const gone = new AbortController();
    const first = s.post(waited(), gone.signal).catch((e: unknown) => e);
    await Bun.sleep(0);
    s.runs[0]?.start();
    await Bun.sleep(0);
    gone.abort(); // Flagger's client timeout (in-process, the first answer settles with the run)
    const retry = s.post(waited());
    await Bun.sleep(0);
    expect(s.runs).toHaveLength(1); // no second k6
    expect(s.records.some((r) => r.msg.startsWith('attaching to the run already under way'))).toBe(
      true,
    );
    await Bun.sleep(2100); // past the grace: the attached caller keeps the run alive
    expect(s.runs[0]?.canceled).toBeUndefined();
    s.runs[0]?.finish();
    expect((await retry).status).toBe(200);
    await first;
    expect(s.daemon.semaphore.inUse()).toBe(0);
  });

  test('no retry within the grace: the run is canceled (client-gone) then', async () => {
    const s = setup(['--reattach-grace', '300ms']);
    const gone = new AbortController();
    const first = s.post(waited(), gone.signal).catch((e: unknown) => e);
    await Bun.sleep(0);
    s.runs[0]?.start();
    await Bun.sleep(0);
    gone.abort();
    await Bun.sleep(100);
    expect(s.runs[0]?.canceled).toBeUndefined(); // still waiting for a retry
    await Bun.sleep(400);
    expect(s.runs[0]?.canceled).toBe('client-gone');
    await first;
  });

  test('another hook (another checksum: a new revision) does not attach', async () => {
    const s = setup(['--reattach-grace', '2s']);
    const first = s.post(waited());
    await Bun.sleep(0);
    s.runs[0]?.start();
    const other = s.post({ ...waited(), checksum: 'rev-2' });
    await Bun.sleep(20);
    expect(s.runs).toHaveLength(2);
    for (const r of s.runs) r.start();
    for (const r of s.runs) r.finish();
    expect((await first).status).toBe(200);
    expect((await other).status).toBe(200);
  });
});

describe('failure tails in logs', () => {
  test('the last 40 lines, never more than 8 KiB: one huge console line cannot flood the logs', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    expect(tailForLog(lines).split('\n')).toEqual(
      Array.from({ length: 40 }, (_, i) => `line ${i + 60}`),
    );
    const huge = `${'x'.repeat(900_000)}\nlast line\n`;
    const tail = tailForLog(huge);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(8 * 1024 + 8);
    expect(tail.startsWith('[…] ')).toBe(true);
    expect(tail.endsWith('x\nlast line')).toBe(true);
  });
});
