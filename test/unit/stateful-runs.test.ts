// Stateful hook state (launch/stateful.ts createStatefulRuns) stays bounded: a kept verdict
// holds only the tail of k6's output and no handle on the run, and entries are capped, globally
// and per namespace, the oldest verdict forgotten first (#19 finding 5).

import { describe, expect, test } from 'bun:test';
import { createStatefulRuns } from '../../src/launch/stateful.ts';
import { runResult, type RunHandle } from '../../src/runners/runner.ts';
import { createManualClock } from '../helpers/manual-clock.ts';

// A run that ended with `output`.
function endedRun(runId: string, output: string): RunHandle {
  const result = runResult({ runId, verdict: 'passed', reason: 'ok', durationMs: 1, output });
  return {
    runId,
    startedAt: 0,
    started: Promise.resolve({ kind: 'started' }) as RunHandle['started'],
    result: Promise.resolve(result),
    cancel: () => undefined,
    output: () => output,
  };
}

describe('stateful state is bounded', () => {
  test('a kept verdict keeps the tail of a 1 MiB output, where the summary is', async () => {
    const runs = createStatefulRuns({ ttlMs: 60_000, clock: createManualClock(0) });
    const output = `${'x'.repeat(1024 * 1024)}\nSUMMARY: checks 100%\n`;
    runs.remember('slot', 'id', 'team-a', endedRun('r1', output));
    await Bun.sleep(0);
    const state = runs.lookup('slot', 'id');
    if (state.kind !== 'ended') throw new Error(`expected a verdict, got ${state.kind}`);
    expect(state.result.output.length).toBeLessThan(33 * 1024);
    expect(state.result.output).toEndWith('SUMMARY: checks 100%\n');
    expect(state.result.output).toStartWith('[… ');
    expect(state.result.truncated).toBe(true);
  });

  test('at most 200 verdicts per namespace and 2000 in all, the oldest forgotten first', async () => {
    const runs = createStatefulRuns({ ttlMs: 3_600_000, clock: createManualClock(0) });
    for (let i = 0; i < 250; i++) {
      runs.remember(`a-${i}`, 'id', 'team-a', endedRun(`a${i}`, 'out'));
      await Bun.sleep(0);
    }
    expect(runs.size()).toBe(200);
    expect(runs.lookup('a-49', 'id').kind).toBe('none');
    expect(runs.lookup('a-50', 'id').kind).toBe('ended');
    for (let n = 0; n < 30; n++) {
      for (let i = 0; i < 100; i++)
        runs.remember(`n${n}-${i}`, 'id', `ns-${n}`, endedRun('x', 'o'));
      await Bun.sleep(0);
    }
    expect(runs.size()).toBeLessThanOrEqual(2000);
    expect(runs.lookup('n29-99', 'id').kind).toBe('ended');
  });
});
