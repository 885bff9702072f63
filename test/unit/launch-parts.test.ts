// The launch service's own parts, each alone: the semaphore, the failure cache, the output
// buffer and the Retry-After estimate (no processes, no HTTP).

import { describe, expect, test } from 'bun:test';
import { createManualClock } from '../helpers/manual-clock.ts';
import { createFailureCache, FAILURE_CACHE_MAX_ENTRIES } from '../../src/launch/failure-cache.ts';
import { createOutputBuffer } from '../../src/runners/local/output-buffer.ts';
import { estimateRetryAfterSeconds } from '../../src/launch/run-registry.ts';
import { createSemaphore } from '../../src/launch/semaphore.ts';

describe('semaphore', () => {
  test('grants up to capacity, then refuses; release is idempotent', () => {
    const sem = createSemaphore(2);
    const a = sem.tryAcquire();
    const b = sem.tryAcquire();
    expect(a && b).toBeTruthy();
    expect(sem.tryAcquire()).toBeUndefined();
    a?.release();
    a?.release();
    expect(sem.inUse()).toBe(1);
    expect(sem.tryAcquire()).toBeDefined();
    expect(sem.tryAcquire()).toBeUndefined();
  });
  test('rejects a capacity below 1', () => {
    expect(() => createSemaphore(0)).toThrow(RangeError);
  });
});

describe('failure cache', () => {
  const key = { namespace: 'ns', name: 'app', phase: 'Progressing', checksum: 'c1', script: 's1' };
  const hook = (namespace: string, name: string, phase = 'p') => ({
    namespace,
    name,
    phase,
    checksum: '',
    script: '',
  });
  test('rejects within the delay, allows after it', () => {
    const clock = createManualClock();
    const cache = createFailureCache(clock);
    expect(cache.remainingMs(key, 120_000)).toBe(0);
    cache.recordFailure(key);
    clock.advance(60_000);
    expect(cache.remainingMs(key, 120_000)).toBe(60_000);
    clock.advance(60_001);
    expect(cache.remainingMs(key, 120_000)).toBe(0);
  });
  test('asking does not extend the window (a rejection is not a failure)', () => {
    const clock = createManualClock();
    const cache = createFailureCache(clock);
    cache.recordFailure(key);
    clock.advance(100_000);
    expect(cache.remainingMs(key, 120_000)).toBe(20_000);
    clock.advance(20_000);
    expect(cache.remainingMs(key, 120_000)).toBe(0);
  });
  test('another revision (checksum) or another hook (script) is a separate entry', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(key);
    expect(cache.remainingMs({ ...key, checksum: 'c2' }, 60_000)).toBe(0);
    expect(cache.remainingMs({ ...key, script: 's2' }, 60_000)).toBe(0);
    expect(cache.remainingMs(key, 60_000)).toBe(60_000);
  });
  test('a delay of 0 or below disables it', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(key);
    expect(cache.remainingMs(key, 0)).toBe(0);
    expect(cache.remainingMs(key, -1000)).toBe(0);
  });
  test('keys do not collide the way "ns-name-phase" did', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(hook('a-b', 'c'));
    expect(cache.remainingMs(hook('a', 'b-c'), 60_000)).toBe(0);
    expect(cache.remainingMs(hook('a-b', 'c'), 60_000)).toBe(60_000);
  });
  test('phases are separate', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(key);
    expect(cache.remainingMs({ ...key, phase: 'Succeeded' }, 60_000)).toBe(0);
  });
  test('memory is bounded', () => {
    const cache = createFailureCache(createManualClock());
    for (let i = 0; i < FAILURE_CACHE_MAX_ENTRIES + 50; i++) {
      cache.recordFailure(hook('ns', `app-${i}`));
    }
    expect(cache.size()).toBe(FAILURE_CACHE_MAX_ENTRIES);
  });
});

describe('Retry-After estimate', () => {
  const now = 1_000_000;
  test('no history: a small default', () => {
    expect(estimateRetryAfterSeconds([{ startedAt: now }], [], now)).toBe(10);
  });
  test('soonest expected end from the median duration', () => {
    const running = [{ startedAt: now - 20_000 }, { startedAt: now - 5_000 }];
    expect(estimateRetryAfterSeconds(running, [30_000, 30_000, 31_000], now)).toBe(10);
  });
  test('overdue runs: at least 1 second, never negative or NaN', () => {
    expect(estimateRetryAfterSeconds([{ startedAt: now - 500_000 }], [1000], now)).toBe(1);
  });
  test('long runs: capped at 60 seconds', () => {
    expect(estimateRetryAfterSeconds([{ startedAt: now }], [3_600_000], now)).toBe(60);
  });
});

describe('output buffer', () => {
  const enc = new TextEncoder();
  test('small output is kept whole', () => {
    const out = createOutputBuffer(4096);
    out.push(enc.encode('hello\n'));
    out.push(enc.encode('output: -\n'));
    expect(out.snapshot()).toEqual({
      text: 'hello\noutput: -\n',
      truncated: false,
      totalBytes: 16,
    });
  });
  test('a flood keeps the head and the tail, marks what was dropped, and stays bounded', () => {
    const out = createOutputBuffer(2048);
    out.push(enc.encode('HEAD-LINE\n'));
    const chunk = enc.encode('x'.repeat(1023) + '\n');
    for (let i = 0; i < 1000; i++) out.push(chunk);
    out.push(enc.encode('TAIL-LINE\n'));
    const snap = out.snapshot();
    expect(snap.truncated).toBe(true);
    expect(snap.text.startsWith('HEAD-LINE\n')).toBe(true);
    expect(snap.text.endsWith('TAIL-LINE\n')).toBe(true);
    const dropped = 10 + 1000 * 1024 + 10 - 2048;
    expect(snap.text).toContain(`[… k6gate: ${dropped} bytes of output omitted …]`);
    expect(Buffer.byteLength(snap.text)).toBe(
      2048 + Buffer.byteLength(`\n[… k6gate: ${dropped} bytes of output omitted …]\n`),
    );
    expect(snap.totalBytes).toBe(10 + 1000 * 1024 + 10);
  });
  test('a snapshot taken between chunks: the next one has what came since', () => {
    const out = createOutputBuffer(4096);
    out.push(enc.encode('one\n'));
    const first = out.snapshot();
    expect(out.snapshot()).toEqual(first);
    out.push(enc.encode('two\n'));
    expect(out.snapshot()).toEqual({ text: 'one\ntwo\n', truncated: false, totalBytes: 8 });
    expect(first.text).toBe('one\n');
  });
  test('a chunk buffer reused by the reader does not change what was kept', () => {
    const out = createOutputBuffer(8);
    const buf = enc.encode('abcdefgh');
    out.push(buf);
    out.push(buf.subarray(0, 4));
    buf.fill(0x7a); // 'z'
    expect(out.snapshot().text).toBe(
      'abcdabcd'.slice(0, 4) + '\n[… k6gate: 4 bytes of output omitted …]\n' + 'abcd',
    );
  });
});
