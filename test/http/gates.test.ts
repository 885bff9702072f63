// The gates through the whole app (app.handle) with the scripted runner and a manual clock:
// /gate/promotion opens only when every load test of the revision passed, /gate/rollback only
// when one failed, both scoped to the checksum; the loadtester's manual gates, scoped to a
// revision; the auth file's namespaces; a verdict written before shutdown ends; and a SQLite
// store that answers after a restart.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientDirectory } from '../../src/auth/clients.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { buildTestDaemon, createCapturingLogger, flaggerPayload } from '../helpers/daemon.ts';
import { createManualClock } from '../helpers/manual-clock.ts';
import { createScriptedRunner } from '../helpers/scripted-runner.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-gates-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(opts: { store?: Store; auth?: string } = {}) {
  const clock = createManualClock();
  const scripted = createScriptedRunner({ clock });
  const clients = opts.auth
    ? loadClientDirectory(opts.auth, { clock: systemClock, logger: createCapturingLogger().logger })
    : undefined;
  const { daemon } = buildTestDaemon({
    runner: scripted.runner,
    clock,
    ...(opts.store ? { store: opts.store } : {}),
    ...(clients ? { clients } : {}),
  });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await daemon.app.handle(
      new Request(`http://k6gate${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    );
    return { status: res.status, text: (await res.text()).trim() };
  };
  return { ...scripted, clock, daemon, post };
}

const gate = (checksum: string) => ({
  name: 'podinfo',
  namespace: 'test',
  phase: 'Progressing',
  checksum,
});
const stateful = (checksum: string) =>
  flaggerPayload({ script: 'export default function () {}', mode: 'stateful' }, { checksum });

// Starts a stateful run for `checksum` and answers its 202 (the run goes on).
async function startRun(t: ReturnType<typeof setup>, checksum: string) {
  const pending = t.post('/launch-test', stateful(checksum));
  await Bun.sleep(0);
  t.runs.at(-1)!.start();
  expect((await pending).status).toBe(202);
  return t.runs.at(-1)!;
}

describe("/gate/promotion and /gate/rollback follow the revision's load tests", () => {
  test('no test, running, passed: 403, 403, 200; another revision is closed again', async () => {
    const t = setup();
    expect(await t.post('/gate/promotion', gate('rev1'))).toEqual({
      status: 403,
      text: 'no load test has run for revision rev1',
    });
    const run = await startRun(t, 'rev1');
    t.clock.advance(14_000);
    const running = await t.post('/gate/promotion', gate('rev1'));
    expect(running.status).toBe(403);
    expect(running.text).toMatch(/^load test of phase Progressing \(run .+\) running for 14s$/);
    expect((await t.post('/gate/rollback', gate('rev1'))).status).toBe(403);
    run.finish();
    await Bun.sleep(0);
    expect(await t.post('/gate/promotion', gate('rev1'))).toEqual({
      status: 200,
      text: 'all 1 load tests of revision rev1 passed',
    });
    expect(await t.post('/gate/rollback', gate('rev1'))).toEqual({
      status: 403,
      text: 'no load test of revision rev1 failed',
    });
    expect((await t.post('/gate/promotion', gate('rev2'))).status).toBe(403);
  });

  test('a failed test: promotion stays closed with the reason, rollback says roll back now', async () => {
    const t = setup();
    const run = await startRun(t, 'rev1');
    run.finish({ verdict: 'failed', reason: 'thresholds crossed: http_req_failed', exitCode: 99 });
    await Bun.sleep(0);
    const promotion = await t.post('/gate/promotion', gate('rev1'));
    expect(promotion.status).toBe(403);
    expect(promotion.text).toMatch(/failed: thresholds crossed: http_req_failed$/);
    const rollback = await t.post('/gate/rollback', gate('rev1'));
    expect(rollback.status).toBe(200);
    expect(rollback.text).toMatch(/^roll back: .* failed: thresholds crossed: http_req_failed$/);
  });

  test('an unknown gate is a 404', async () => {
    const t = setup();
    expect((await t.post('/gate/nope', gate('rev1'))).status).toBe(404);
    expect((await t.post('/rollback/promotion', gate('rev1'))).status).toBe(404);
  });

  test('a bad body is a 400 naming the field', async () => {
    const t = setup();
    const res = await t.post('/gate/promotion', { namespace: 'test' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('missing name');
  });
});

describe('manual gates (Flagger loadtester semantics, scoped to a revision)', () => {
  test('approve 200, halt 403', async () => {
    const t = setup();
    expect((await t.post('/gate/approve', gate('rev1'))).status).toBe(200);
    expect((await t.post('/gate/halt', gate('rev1'))).status).toBe(403);
  });

  test('check is closed until opened; a new revision closes it; close closes it', async () => {
    const t = setup();
    expect((await t.post('/gate/check', gate('rev1'))).status).toBe(403);
    await startRun(t, 'rev1'); // Flagger has called for rev1: a gate opened by hand binds to it
    const opened = await t.post('/gate/open', { name: 'podinfo', namespace: 'test' });
    expect(opened).toEqual({
      status: 200,
      text: 'promotion gate of test/podinfo opened for revision rev1',
    });
    expect((await t.post('/gate/check', gate('rev1'))).status).toBe(200);
    expect(await t.post('/gate/check', gate('rev2'))).toEqual({
      status: 403,
      text: 'promotion gate of test/podinfo is closed for revision rev2',
    });
    await t.post('/gate/open', gate('rev2'));
    expect((await t.post('/gate/check', gate('rev2'))).status).toBe(200);
    await t.post('/gate/close', gate('rev2'));
    expect((await t.post('/gate/check', gate('rev2'))).status).toBe(403);
  });

  test('rollback/open, rollback/check, rollback/close', async () => {
    const t = setup();
    expect((await t.post('/rollback/check', gate('rev1'))).status).toBe(403);
    await t.post('/rollback/open', gate('rev1'));
    expect((await t.post('/rollback/check', gate('rev1'))).status).toBe(200);
    await t.post('/rollback/close', gate('rev1'));
    expect((await t.post('/rollback/check', gate('rev1'))).status).toBe(403);
  });
});

test('a verdict still being written when the daemon stops: shutdown waits for it, a waiting reader gets it once written', async () => {
  const memory = createMemoryStore();
  const writing = Promise.withResolvers<void>();
  let written = 0;
  const store: Store = {
    ...memory,
    async recordEnd(runId, end) {
      await writing.promise; // a slow database
      await memory.recordEnd(runId, end);
      written++;
    },
  };
  const t = setup({ store });
  const run = await startRun(t, 'rev1');
  const waited = t.daemon.app
    .handle(new Request('http://k6gate/api/v1/verdict?namespace=test&canary=podinfo&wait=30s'))
    .then((res) => res.json());
  run.finish();
  await Bun.sleep(0);
  let stopped = false;
  const shutdown = t.daemon.registry.shutdown().then(() => (stopped = true));
  await Bun.sleep(50);
  expect(stopped).toBe(false); // the store would be closed under the write
  expect((await t.post('/gate/promotion', gate('rev1'))).status).toBe(403);
  writing.resolve();
  // The waiting reader is told when the verdict is written (not at its next poll, 1 s on).
  const answer = await Promise.race([waited, Bun.sleep(500).then(() => 'no answer yet')]);
  expect(answer).toMatchObject({ status: 'passed', reason: 'all thresholds passed' });
  await shutdown;
  expect(written).toBe(1);
  expect((await t.post('/gate/promotion', gate('rev1'))).status).toBe(200);
});

test('with an auth file: a client opens only the gates of its namespaces', async () => {
  const auth = join(dir, 'auth.yaml');
  writeFileSync(
    auth,
    'clients:\n  - name: team-a\n    token: "team-a-token-0123"\n    namespaces: ["team-a"]\n',
  );
  const t = setup({ auth });
  const bearer = { Authorization: 'Bearer team-a-token-0123' };
  expect((await t.post('/gate/open', { name: 'web', namespace: 'team-a' })).status).toBe(401);
  expect((await t.post('/gate/open', { name: 'web', namespace: 'team-a' }, bearer)).status).toBe(
    200,
  );
  const other = await t.post('/gate/open', { name: 'web', namespace: 'team-b' }, bearer);
  expect(other.status).toBe(403);
  expect(other.text).toContain('team-b');
});

test('SQLite: a daemon restarted after the verdict answers the promotion gate from the file', async () => {
  const path = join(dir, 'restart', 'k6gate.db');
  const first = setup({ store: openSqliteStore(path, Date.now) });
  const run = await startRun(first, 'rev1');
  run.finish();
  await Bun.sleep(0);
  await first.daemon.registry.shutdown();
  await first.daemon.store.close();
  const second = setup({ store: openSqliteStore(path, Date.now) });
  expect(await second.post('/gate/promotion', gate('rev1'))).toEqual({
    status: 200,
    text: 'all 1 load tests of revision rev1 passed',
  });
  // The stateful hook's next call answers the recorded verdict: no second run.
  const again = await second.post('/launch-test', stateful('rev1'));
  expect(again.status).toBe(200);
  expect(again.text).toMatch(/^\(k6gate: the verdict recorded for run .+ at .+\)$/);
  expect(second.runs).toHaveLength(0);
  await second.daemon.store.close();
});

test('SQLite: a run under way when the daemon stopped is lost; the next call starts it again', async () => {
  const path = join(dir, 'lost', 'k6gate.db');
  const first = setup({ store: openSqliteStore(path, Date.now) });
  await startRun(first, 'rev1'); // never finishes: the process "dies" here
  await first.daemon.store.close();
  const second = setup({ store: openSqliteStore(path, Date.now) });
  const closed = await second.post('/gate/promotion', gate('rev1'));
  expect(closed.status).toBe(403);
  expect(closed.text).toMatch(/lost: k6gate stopped before the verdict$/);
  await startRun(second, 'rev1');
  expect(second.runs).toHaveLength(1);
  await second.daemon.registry.shutdown();
  await second.daemon.store.close();
});
