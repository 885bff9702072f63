import { expect, test } from 'bun:test';
import { wait } from '../../src/core/timers.ts';

test('wait: resolves after its time, or at once when its signal aborts; never rejects', async () => {
  let t = performance.now();
  await wait(30);
  expect(performance.now() - t).toBeGreaterThanOrEqual(25);

  const leaving = new AbortController();
  t = performance.now();
  const waited = wait(10_000, leaving.signal);
  setTimeout(() => leaving.abort(new Error('caller left')), 20);
  await waited; // resolves, does not throw the abort reason
  expect(performance.now() - t).toBeLessThan(2_000);

  t = performance.now();
  await wait(10_000, leaving.signal); // already aborted
  expect(performance.now() - t).toBeLessThan(1_000);

  const kept = new AbortController();
  t = performance.now();
  await wait(30, kept.signal);
  expect(performance.now() - t).toBeGreaterThanOrEqual(25);
  expect(kept.signal.aborted).toBe(false);
});
