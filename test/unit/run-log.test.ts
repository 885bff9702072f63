// A run's log as events (launch/run-log.ts), with the memory store, the registry and the live
// logs hub: a local run's output so far then each chunk pushed; a pod run (no chunks, output
// read at its end) gives its stored tail before the verdict; an ended run its tail and verdict;
// a run the caller may not see is NotFound.

import { expect, test } from 'bun:test';
import { createLiveLogs } from '../../src/launch/live-logs.ts';
import { createRunLog, type LogEvent } from '../../src/launch/run-log.ts';
import { createRunRegistry } from '../../src/launch/run-registry.ts';
import { createRunViews } from '../../src/launch/run-views.ts';
import { runResult, type RunHandle, type RunResult } from '../../src/runners/runner.ts';
import { createMemoryStore } from '../../src/store/memory.ts';
import { runRecord } from '../helpers/run-record.ts';

function setup() {
  const store = createMemoryStore();
  const registry = createRunRegistry();
  const liveLogs = createLiveLogs();
  const views = createRunViews({ store, registry, clock: { now: () => 5000 } });
  return { store, registry, liveLogs, log: createRunLog({ store, registry, liveLogs, views }) };
}

const record = (runId: string, runner: string) => runRecord({ runId, runner });

function handle(runId: string, output: () => string) {
  const done = Promise.withResolvers<RunResult>();
  const h: RunHandle = {
    runId,
    startedAt: 1000,
    started: Promise.resolve({ kind: 'started', cloudUrl: undefined }),
    result: done.promise,
    cancel: () => {},
    output,
  };
  return { h, finish: (r: RunResult) => done.resolve(r) };
}

async function finish(s: ReturnType<typeof setup>, runId: string, tail: string) {
  await s.store.recordEnd(runId, {
    endedAt: 2000,
    verdict: 'passed',
    reason: 'all thresholds passed',
    exitCode: 0,
    outputTail: tail,
  });
}

const all = () => true;
const passed = (runId: string) =>
  runResult({ runId, verdict: 'passed', reason: 'ok', durationMs: 1, output: 'x' });

test('a local run: the output so far, each chunk as pushed, then the verdict', async () => {
  const s = setup();
  await s.store.recordStart(record('r1', 'local'));
  const { h, finish: end } = handle('r1', () => 'so far\n');
  s.registry.track(h, { ...record('r1', 'local'), requestId: 'q', mode: 'async' });
  const events: LogEvent[] = [];
  const following = s.log.follow('r1', all, (e) => events.push(e), new AbortController().signal);
  await Bun.sleep(5);
  s.liveLogs.push('r1', new TextEncoder().encode('running (0m01.0s)\n'));
  expect(s.liveLogs.followed()).toBe(1);
  await finish(s, 'r1', 'the tail');
  end(passed('r1'));
  await following;
  expect(events.map((e) => (e.event === 'output' ? e.text : e.event))).toEqual([
    'so far\n',
    'running (0m01.0s)\n',
    'verdict',
  ]);
  expect(s.liveLogs.followed()).toBe(0);
});

test('a pod run: nothing while it runs, then its stored tail and the verdict', async () => {
  const s = setup();
  await s.store.recordStart(record('p1', 'job'));
  const { h, finish: end } = handle('p1', () => '');
  s.registry.track(h, { ...record('p1', 'job'), requestId: 'q', mode: 'async' });
  const events: LogEvent[] = [];
  const following = s.log.follow('p1', all, (e) => events.push(e), new AbortController().signal);
  await finish(s, 'p1', 'the runner pod summary');
  end(passed('p1'));
  await following;
  expect(events.map((e) => (e.event === 'output' ? e.text : e.event))).toEqual([
    'the runner pod summary',
    'verdict',
  ]);
});

test("a pod run's followed log past its bound: what it grew by is sent once, not the whole log again", async () => {
  const s = setup();
  await s.store.recordStart(record('p2', 'job'));
  const lines = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `running (${from + i}s), 1/1 VUs\n`).join('');
  let out = lines(0, 100);
  const { h, finish: end } = handle('p2', () => out);
  s.registry.track(h, { ...record('p2', 'job'), requestId: 'q', mode: 'async' });
  const events: LogEvent[] = [];
  const following = s.log.follow('p2', all, (e) => events.push(e), new AbortController().signal);
  await Bun.sleep(5);
  out = lines(50, 103); // the log's start dropped (its bound), three lines added
  await Bun.sleep(2200); // one poll
  await finish(s, 'p2', 'the tail');
  end(passed('p2'));
  await following;
  expect(events.map((e) => (e.event === 'output' ? e.text : e.event))).toEqual([
    lines(0, 100),
    lines(100, 103),
    'verdict',
  ]);
}, 15_000);

test('an ended run: its tail and verdict; a run the caller may not see is NotFound', async () => {
  const s = setup();
  await s.store.recordStart(record('e1', 'local'));
  await finish(s, 'e1', 'done');
  const events: LogEvent[] = [];
  await s.log.follow('e1', all, (e) => events.push(e), new AbortController().signal);
  expect(events.map((e) => e.event)).toEqual(['output', 'verdict']);
  const last = events[1];
  expect(last?.event === 'verdict' && last.run.state).toBe('passed');
  const hidden = s.log.follow(
    'e1',
    (ns) => ns !== 'team-a',
    () => {},
    new AbortController().signal,
  );
  expect(
    await hidden.then(
      () => 'found',
      (e: Error) => e.message,
    ),
  ).toBe('no run e1');
});

test('a verdict still being written: the log ends on it once written; a caller who leaves first is let go', async () => {
  const s = setup();
  await s.store.recordStart(record('w1', 'local'));
  const { h, finish: end } = handle('w1', () => '');
  const writing = Promise.withResolvers<void>();
  s.registry.track(h, { ...record('w1', 'local'), requestId: 'q', mode: 'async' }, writing.promise);
  const events: LogEvent[] = [];
  const following = s.log.follow('w1', all, (e) => events.push(e), new AbortController().signal);
  await Bun.sleep(5); // following it live
  end(passed('w1'));
  await Bun.sleep(20);
  expect(events.some((e) => e.event === 'verdict')).toBe(false);
  await finish(s, 'w1', 'the tail');
  writing.resolve();
  await following;
  expect(events.at(-1)).toMatchObject({ event: 'verdict', run: { state: 'passed' } });

  await s.store.recordStart(record('w2', 'local'));
  const stuck = handle('w2', () => '');
  s.registry.track(
    stuck.h,
    { ...record('w2', 'local'), requestId: 'q', mode: 'async' },
    new Promise<void>(() => {}), // a store that never answers
  );
  const leaving = new AbortController();
  const left = s.log.follow('w2', all, () => {}, leaving.signal);
  await Bun.sleep(5);
  stuck.finish(passed('w2'));
  await Bun.sleep(20);
  leaving.abort();
  expect(
    await Promise.race([left.then(() => 'returned'), Bun.sleep(1000).then(() => 'held')]),
  ).toBe('returned');
});
