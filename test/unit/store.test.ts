// The store contract, the same table against the in-memory store, a real SQLite file
// (bun:sqlite) and a real PostgreSQL (Debian's server, started on loopback as the postgres
// user): run records by revision, newest first; gates and revisions; for SQLite, what outlives a
// reopen (a run left without a verdict becomes `lost`); for PostgreSQL, two stores on one
// database (two replicas) see each other's writes.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { RunRecord, RunSummary, Store } from '../../src/store/store.ts';
import { getPostgres } from '../helpers/postgres.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-store-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const run = (over: Partial<RunRecord> = {}): RunRecord => ({
  runId: `run-${++n}`,
  namespace: 'team-a',
  name: 'web',
  phase: 'Progressing',
  checksum: 'rev1',
  hook: 'hook-1',
  runner: 'local',
  startedAt: 1000 + n,
  heartbeatAt: 1000 + n,
  endedAt: null,
  verdict: null,
  reason: null,
  exitCode: null,
  script: 'script-1',
  summary: null,
  outputTail: null,
  ...over,
});

const summary = (p95: number): RunSummary => ({
  metrics: { http_req_duration: { 'p(95)': p95, avg: p95 / 2 } },
  thresholds: [{ metric: 'http_req_duration', threshold: 'p(95)<500', passed: true }],
  comparison: null,
});

const pg = getPostgres();
if (pg.why) console.log(`SKIP PostgreSQL store: ${pg.why}`);
// The server's start (initdb, then the postmaster) is setup, not a test: it gets its own time,
// and the tests their default.
beforeAll(async () => {
  await pg.postgres?.();
}, 60_000);

const stores: [string, () => Promise<Store>][] = [
  ['memory', async () => createMemoryStore()],
  ['sqlite', async () => openSqliteStore(join(dir, `s${++n}`, 'k6gate.db'), () => 5000)],
  ...(pg.postgres
    ? [
        [
          'postgres',
          async () => openPostgresStore(await (await pg.postgres!()).database('store')),
        ] as [string, () => Promise<Store>],
      ]
    : []),
];

describe.each(stores)('%s store', (_, open) => {
  test('runs by revision, newest first, with their verdicts', async () => {
    const s = await open();
    const a = run();
    const b = run();
    await s.recordStart(a);
    await s.recordStart(b);
    await s.recordStart(run({ checksum: 'rev2' }));
    await s.recordStart(run({ name: 'other' }));
    await s.recordEnd(a.runId, {
      endedAt: 2000,
      verdict: 'failed',
      reason: 'thresholds crossed',
      exitCode: 99,
    });
    const got = await s.runsOf('team-a', 'web', 'rev1');
    expect(got.map((r) => r.runId)).toEqual([b.runId, a.runId]);
    expect(got[1]).toMatchObject({
      verdict: 'failed',
      reason: 'thresholds crossed',
      endedAt: 2000,
    });
    expect(got[0]).toMatchObject({ verdict: null, endedAt: null });
    await s.close();
  });

  test('the runs API: one run, filters, newest first, paged with before', async () => {
    const s = await open();
    const runs = [run(), run({ name: 'api' }), run({ namespace: 'team-b' }), run(), run()];
    for (const r of runs) await s.recordStart(r);
    const [r0, , , r3] = runs as [RunRecord, RunRecord, RunRecord, RunRecord, RunRecord];
    await s.recordEnd(r0.runId, {
      endedAt: 5000,
      verdict: 'passed',
      reason: 'ok',
      exitCode: 0,
      summary: summary(120),
      outputTail: 'the end of the output',
    });
    await s.recordEnd(r3.runId, { endedAt: 5001, verdict: 'failed', reason: 'no', exitCode: 99 });
    expect(await s.run(r0.runId)).toMatchObject({
      verdict: 'passed',
      summary: summary(120),
      outputTail: 'the end of the output',
      script: 'script-1',
    });
    expect(await s.run('nope')).toBeUndefined();
    const ids = async (q: Parameters<Store['listRuns']>[0]) =>
      (await s.listRuns(q)).map((r) => r.runId);
    const newest = [...runs].reverse().map((r) => r.runId);
    expect(await ids({ limit: 10 })).toEqual(newest);
    expect(await ids({ limit: 2 })).toEqual(newest.slice(0, 2));
    const page1 = await s.listRuns({ limit: 2 });
    expect(await ids({ limit: 2, before: page1[1] })).toEqual(newest.slice(2, 4));
    expect(await ids({ limit: 10, namespace: 'team-a', name: 'web' })).toEqual(
      newest.filter((id) => id !== runs[1]!.runId && id !== runs[2]!.runId),
    );
    expect(await ids({ limit: 10, state: 'ended' })).toEqual([r3.runId, r0.runId]);
    expect(await ids({ limit: 10, state: 'failed' })).toEqual([r3.runId]);
    expect((await ids({ limit: 10, state: 'running' })).length).toBe(3);
    await s.close();
  });

  test('baseline candidates: passed runs of the script with a summary, other revisions', async () => {
    const s = await open();
    const old = run({ checksum: 'rev0' });
    const newer = run({ checksum: 'rev1' });
    const otherScript = run({ checksum: 'rev1', script: 'script-2' });
    const current = run({ checksum: 'rev2' });
    const noSummary = run({ checksum: 'rev1' });
    for (const r of [old, newer, otherScript, current, noSummary]) await s.recordStart(r);
    for (const r of [old, newer, otherScript, current]) {
      await s.recordEnd(r.runId, {
        endedAt: 9000,
        verdict: 'passed',
        reason: 'ok',
        exitCode: 0,
        summary: summary(100),
      });
    }
    await s.recordEnd(noSummary.runId, {
      endedAt: 9000,
      verdict: 'passed',
      reason: 'ok',
      exitCode: 0,
    });
    const got = await s.baselineCandidates(
      { namespace: 'team-a', name: 'web', script: 'script-1', checksum: 'rev2' },
      5,
    );
    expect(got.map((r) => r.runId)).toEqual([newer.runId, old.runId]);
    await s.close();
  });

  test("the timeline: a canary's events, newest first", async () => {
    const s = await open();
    const event = (at: number, message: string) => ({
      namespace: 'team-a',
      name: 'web',
      checksum: 'rev1',
      phase: 'Progressing',
      type: 'Normal',
      message,
      at,
    });
    await s.recordEvent(event(1, 'New revision detected'));
    await s.recordEvent(event(2, 'Advance web.team-a canary weight 10'));
    await s.recordEvent({ ...event(3, 'elsewhere'), name: 'api' });
    const got = await s.eventsOf('team-a', 'web', 10);
    expect(got.map((e) => [e.at, e.message])).toEqual([
      [2, 'Advance web.team-a canary weight 10'],
      [1, 'New revision detected'],
    ]);
    expect(await s.eventsOf('team-a', 'web', 1)).toHaveLength(1);
    await s.close();
  });

  test('the failure cache write-through: the newest failure of a hook', async () => {
    const s = await open();
    expect(await s.failureAt('hook-1')).toBeUndefined();
    await s.recordFailure('hook-1', 1000);
    await s.recordFailure('hook-1', 2000);
    await s.recordFailure('hook-2', 1500);
    expect(await s.failureAt('hook-1')).toBe(2000);
    expect(await s.failureAt('hook-2')).toBe(1500);
    await s.close();
  });

  test('gates and the last revision', async () => {
    const s = await open();
    expect(await s.gate('team-a', 'web', 'confirm')).toBeUndefined();
    await s.setGate('team-a', 'web', 'confirm', { open: true, checksum: 'rev1' });
    await s.setGate('team-a', 'web', 'rollback', { open: false, checksum: null });
    expect(await s.gate('team-a', 'web', 'confirm')).toEqual({ open: true, checksum: 'rev1' });
    expect(await s.gate('team-a', 'web', 'rollback')).toEqual({ open: false, checksum: null });
    expect(await s.lastRevision('team-a', 'web')).toBeUndefined();
    await s.noteRevision('team-a', 'web', 'rev1');
    await s.noteRevision('team-a', 'web', 'rev2');
    expect(await s.lastRevision('team-a', 'web')).toBe('rev2');
    await s.close();
  });
});

test('memory: output tails are kept for the newest 1,000 runs only; lists carry none', async () => {
  const s = createMemoryStore();
  const ids: string[] = [];
  for (let i = 0; i < 1001; i++) {
    const r = run();
    ids.push(r.runId);
    await s.recordStart(r);
    await s.recordEnd(r.runId, {
      endedAt: 1,
      verdict: 'passed',
      reason: 'ok',
      exitCode: 0,
      outputTail: `tail ${i}`,
    });
  }
  expect((await s.run(ids[0]!))?.outputTail).toBeNull();
  expect((await s.run(ids[1]!))?.outputTail).toBe('tail 1');
  expect((await s.run(ids[1000]!))?.outputTail).toBe('tail 1000');
  expect((await s.listRuns({ limit: 1 }))[0]?.outputTail).toBeNull();
});

test('sqlite: a reopened file keeps verdicts, gates and failures; a run left running is lost', async () => {
  const path = join(dir, 'reopen', 'k6gate.db');
  const first = openSqliteStore(path, () => 1);
  const done = run();
  const open = run();
  await first.recordStart(done);
  await first.recordEnd(done.runId, {
    endedAt: 3000,
    verdict: 'passed',
    reason: 'all thresholds passed',
    exitCode: 0,
  });
  await first.recordStart(open);
  await first.setGate('team-a', 'web', 'confirm', { open: true, checksum: 'rev1' });
  await first.recordFailure('hook-1', 4242);
  await first.close();
  const second = openSqliteStore(path, () => 9999);
  const runs = await second.runsOf('team-a', 'web', 'rev1');
  expect(runs.find((r) => r.runId === done.runId)).toMatchObject({ verdict: 'passed' });
  expect(runs.find((r) => r.runId === open.runId)).toMatchObject({
    verdict: 'lost',
    endedAt: 9999,
    reason: 'k6gate stopped before the verdict',
  });
  expect(await second.gate('team-a', 'web', 'confirm')).toEqual({ open: true, checksum: 'rev1' });
  expect(await second.failureAt('hook-1')).toBe(4242); // min_failure_delay holds across a restart
  await second.close();
});

test('sqlite: a file of schema version 1 is migrated, its runs kept', async () => {
  const { Database } = await import('bun:sqlite');
  const { schemaV1 } = await import('../../src/store/sql-schema.ts');
  const path = join(dir, 'v1', 'k6gate.db');
  mkdirSync(join(dir, 'v1'));
  const db = new Database(path, { create: true });
  db.run(schemaV1({ prefix: '', bigint: 'INTEGER', boolean: 'INTEGER' }));
  db.run(`INSERT INTO runs VALUES ('old', 'team-a', 'web', 'Progressing', 'rev1', 'h', 'local',
    1, 1, 2, 'passed', 'ok', 0)`);
  db.run('PRAGMA user_version = 1');
  db.close();
  const s = openSqliteStore(path, () => 3);
  expect(await s.run('old')).toMatchObject({ verdict: 'passed', script: '', summary: null });
  await s.recordStart(run());
  expect((await s.listRuns({ limit: 5 })).length).toBe(2);
  await s.close();
});

test.skipIf(!pg.postgres)('postgres: two replicas on one database see each other', async () => {
  const url = await (await pg.postgres!()).database('replicas');
  const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
  const r = run();
  await a.recordStart(r);
  expect((await b.runsOf('team-a', 'web', 'rev1')).map((x) => x.runId)).toEqual([r.runId]);
  await b.recordEnd(r.runId, { endedAt: 7, verdict: 'passed', reason: 'ok', exitCode: 0 });
  expect((await a.runsOf('team-a', 'web', 'rev1'))[0]).toMatchObject({ verdict: 'passed' });
  await a.setGate('team-a', 'web', 'rollback', { open: true, checksum: 'rev1' });
  expect(await b.gate('team-a', 'web', 'rollback')).toEqual({ open: true, checksum: 'rev1' });
  await Promise.all([a.close(), b.close()]);
});
