import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../src/clock.ts';
import {
  createFailureCache,
  FAILURE_CACHE_MAX_ENTRIES,
} from '../../src/supervise/failure-cache.ts';
import { openOutputLog } from '../../src/supervise/output-log.ts';
import { estimateRetryAfterSeconds } from '../../src/supervise/registry.ts';
import { createSemaphore } from '../../src/supervise/semaphore.ts';

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
  const key = { namespace: 'ns', name: 'app', phase: 'Progressing' };
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
  test('the window slides when a rejection is recorded', () => {
    const clock = createManualClock();
    const cache = createFailureCache(clock);
    cache.recordFailure(key);
    clock.advance(100_000);
    cache.recordFailure(key); // what the service does on a rejection
    clock.advance(100_000);
    expect(cache.remainingMs(key, 120_000)).toBe(20_000);
  });
  test('a delay of 0 or below disables it', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(key);
    expect(cache.remainingMs(key, 0)).toBe(0);
    expect(cache.remainingMs(key, -1000)).toBe(0);
  });
  test('keys do not collide the way "ns-name-phase" did', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure({ namespace: 'a-b', name: 'c', phase: 'p' });
    expect(cache.remainingMs({ namespace: 'a', name: 'b-c', phase: 'p' }, 60_000)).toBe(0);
    expect(cache.remainingMs({ namespace: 'a-b', name: 'c', phase: 'p' }, 60_000)).toBeGreaterThan(
      0,
    );
  });
  test('phases are separate', () => {
    const cache = createFailureCache(createManualClock());
    cache.recordFailure(key);
    expect(cache.remainingMs({ ...key, phase: 'Succeeded' }, 60_000)).toBe(0);
  });
  test('memory is bounded', () => {
    const cache = createFailureCache(createManualClock());
    for (let i = 0; i < FAILURE_CACHE_MAX_ENTRIES + 50; i++) {
      cache.recordFailure({ namespace: 'ns', name: `app-${i}`, phase: 'p' });
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

describe('output log', () => {
  test('small output is kept whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k6gate-test-'));
    try {
      const log = openOutputLog(join(dir, 'out.log'), 4096);
      writeSync(log.fd, 'hello\noutput: -\n');
      expect(log.readNew(1024)).toBe('hello\noutput: -\n');
      expect(log.readNew(1024)).toBe('');
      expect(log.snapshot()).toEqual({
        text: 'hello\noutput: -\n',
        truncated: false,
        totalBytes: 16,
      });
      log.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  test('a flood keeps the head and the tail, marks truncation, and stays bounded on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k6gate-test-'));
    try {
      const path = join(dir, 'out.log');
      const log = openOutputLog(path, 2048);
      writeSync(log.fd, 'HEAD-LINE\n');
      const chunk = 'x'.repeat(1023) + '\n';
      for (let i = 0; i < 1000; i++) {
        writeSync(log.fd, chunk);
        log.compactIfNeeded();
      }
      writeSync(log.fd, 'TAIL-LINE\n');
      const snap = log.snapshot();
      expect(snap.truncated).toBe(true);
      expect(snap.text.startsWith('HEAD-LINE\n')).toBe(true);
      expect(snap.text.endsWith('TAIL-LINE\n')).toBe(true);
      expect(snap.text).toContain('bytes of output omitted');
      expect(snap.text.length).toBeLessThan(2048 + 100);
      expect(snap.totalBytes).toBe(10 + 1000 * 1024 + 10);
      expect(Bun.file(path).size).toBeLessThanOrEqual(64 * 1024 + 1024);
      log.close();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
