// Two k6gate replicas on one PostgreSQL (Debian's server, started on loopback as the postgres
// user), Flagger's calls alternating between them, each replica with its own scripted runner:
// a stateful hook's run started on A is answered by B (202 while A's lease is fresh, then A's
// verdict) and never started twice; B's promotion gate sees A's verdict; a run whose owner
// stopped renewing its lease is marked lost and B starts the hook again; a failure on A holds
// min_failure_delay on B (the failure cache writes through the store).

import { expect, test } from 'bun:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { buildTestDaemon, flaggerPayload } from '../helpers/daemon.ts';
import { createManualClock } from '../helpers/manual-clock.ts';
import { getPostgres } from '../helpers/postgres.ts';
import { createScriptedRunner } from '../helpers/scripted-runner.ts';

const pg = getPostgres();
if (pg.why) console.log(`SKIP replicas on PostgreSQL: ${pg.why}`);

async function replica(url: string) {
  const clock = createManualClock();
  const scripted = createScriptedRunner({ clock });
  const { daemon } = buildTestDaemon({
    runner: scripted.runner,
    clock,
    store: await openPostgresStore(url),
  });
  const post = async (path: string, body: unknown) => {
    const res = await daemon.app.handle(
      new Request(`http://k6gate${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
    return { status: res.status, text: (await res.text()).trim() };
  };
  return { ...scripted, clock, daemon, post };
}

const hook = flaggerPayload(
  { script: 'export default function () {}', mode: 'stateful' },
  { checksum: 'rev1' },
);
const gate = { name: 'podinfo', namespace: 'test', phase: 'Progressing', checksum: 'rev1' };

// A stateful call that starts a run on `r` (the store is consulted first, over the network).
async function start(r: Awaited<ReturnType<typeof replica>>) {
  const before = r.runs.length;
  const pending = r.post('/launch-test', hook);
  for (let i = 0; r.runs.length === before && i < 200; i++) await Bun.sleep(10);
  r.runs.at(-1)!.start();
  return pending;
}

test.skipIf(!pg.postgres)(
  'calls alternating between two replicas: one run, both answer its state and verdict',
  async () => {
    const url = await (await pg.postgres!()).database('replicas_http');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    expect((await start(a)).status).toBe(202); // A starts the run
    a.clock.advance(12_000);
    b.clock.advance(12_000);
    const onB = await b.post('/launch-test', hook);
    expect(onB.status).toBe(202);
    expect(onB.text).toMatch(/^running for 12s on another k6gate replica \(run .+\)$/);
    expect(b.runs).toHaveLength(0);
    expect((await b.post('/gate/promotion', gate)).status).toBe(403);
    a.runs[0]!.finish();
    const written = async () =>
      (await a.daemon.store.runsOf('test', 'podinfo', 'rev1'))[0]?.verdict;
    for (let i = 0; (await written()) === null && i < 100; i++) await Bun.sleep(20);
    const verdictOnB = await b.post('/launch-test', hook);
    expect(verdictOnB.status).toBe(200);
    expect(verdictOnB.text).toMatch(/^\(k6gate: the verdict recorded for run .+\)$/);
    expect(await b.post('/gate/promotion', gate)).toEqual({
      status: 200,
      text: 'all 1 load tests of revision rev1 passed',
    });
    expect((await a.post('/launch-test', hook)).status).toBe(200);
    expect(a.runs).toHaveLength(1);
    expect(b.runs).toHaveLength(0);
    for (const r of [a, b]) {
      await r.daemon.registry.shutdown();
      await r.daemon.store.close();
    }
  },
  30_000,
);

test.skipIf(!pg.postgres)(
  'a replica that stopped renewing its run: the run is lost, the other replica starts again',
  async () => {
    const url = await (await pg.postgres!()).database('replicas_lost');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    expect((await start(a)).status).toBe(202);
    b.clock.advance(31_000); // A's lease (30 s) ran out: A renewed nothing
    expect((await start(b)).status).toBe(202);
    expect(b.runs).toHaveLength(1);
    const runs = await b.daemon.store.runsOf('test', 'podinfo', 'rev1');
    expect(runs.map((r) => r.verdict)).toEqual([null, 'lost']);
    expect(runs[1]!.reason).toBe('its k6gate stopped renewing the run (replica gone)');
    for (const r of [a, b]) {
      await r.daemon.registry.shutdown();
      await r.daemon.store.close();
    }
  },
  30_000,
);

test.skipIf(!pg.postgres)(
  'the failure cache is shared: a failure on A refuses the same hook on B within the delay',
  async () => {
    const url = await (await pg.postgres!()).database('replicas_failures');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    const blocking = flaggerPayload(
      { script: 'export default function () {}', min_failure_delay: '2m' },
      { checksum: 'rev1' },
    );
    const pending = a.post('/launch-test', blocking);
    for (let i = 0; a.runs.length === 0 && i < 200; i++) await Bun.sleep(10);
    a.runs[0]!.start();
    a.runs[0]!.finish({ verdict: 'failed', reason: 'thresholds crossed', exitCode: 99 });
    expect((await pending).status).toBe(400);
    await Bun.sleep(100); // the write-through
    b.clock.advance(30_000);
    const refused = await b.post('/launch-test', blocking);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('not enough time since last failure');
    expect(b.runs).toHaveLength(0);
    b.clock.advance(120_000); // past the delay: B runs it
    const again = b.post('/launch-test', blocking);
    for (let i = 0; b.runs.length === 0 && i < 200; i++) await Bun.sleep(10);
    expect(b.runs).toHaveLength(1);
    b.runs[0]!.start();
    b.runs[0]!.finish();
    expect((await again).status).toBe(200);
    for (const r of [a, b]) {
      await r.daemon.registry.shutdown();
      await r.daemon.store.close();
    }
  },
  30_000,
);
