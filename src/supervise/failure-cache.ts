// The failure cache behind `min_failure_delay`: within the delay after a failure of the same
// canary and phase, reruns fail at once. As in the original the window slides: a rejection
// counts as a failure. Keys cannot collide (the original joined ns-name-phase with hyphens).

import type { Clock } from '../clock.ts';

export interface CanaryKey {
  namespace: string;
  name: string;
  phase: string;
}

export interface FailureCache {
  /** Milliseconds left in the window, or 0 when a run may go ahead. */
  remainingMs(key: CanaryKey, delayMs: number): number;
  recordFailure(key: CanaryKey): void;
  size(): number;
}

/** Entries older than this are dropped whatever the request's delay (bounds memory). */
export const FAILURE_CACHE_MAX_AGE_MS = 24 * 3_600_000;
export const FAILURE_CACHE_MAX_ENTRIES = 10_000;

export function createFailureCache(clock: Clock): FailureCache {
  const lastFailure = new Map<string, number>();
  const keyOf = (k: CanaryKey) => JSON.stringify([k.namespace, k.name, k.phase]);

  // The Map is kept oldest-first, so pruning stops at the first entry worth keeping.
  function prune(now: number) {
    for (const [key, at] of lastFailure) {
      if (now - at <= FAILURE_CACHE_MAX_AGE_MS && lastFailure.size <= FAILURE_CACHE_MAX_ENTRIES) {
        break;
      }
      lastFailure.delete(key);
    }
  }

  return {
    remainingMs(key, delayMs) {
      if (delayMs <= 0) return 0;
      const at = lastFailure.get(keyOf(key));
      if (at === undefined) return 0;
      return Math.max(0, at + delayMs - clock.now());
    },
    recordFailure(key) {
      const k = keyOf(key);
      const now = clock.now();
      // Delete first so Map order stays oldest-first for pruning.
      lastFailure.delete(k);
      lastFailure.set(k, now);
      prune(now);
    },
    size: () => lastFailure.size,
  };
}
