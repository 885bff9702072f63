// The failure cache behind `min_failure_delay`: within the delay after a failed run of the same
// hook, a rerun fails at once. A hook is the canary (namespace, name), the phase, the canary's
// revision checksum and the script, so a new revision or another hook runs at once; the
// original keyed only namespace-name-phase, so one failure blocked every hook of the canary.
// Unlike the original, a rejection does not extend the window: genuine retries run once it ends.
// The cache is the hot path; with a store it writes through, and a call learns what the store
// knows first, so replicas (and a restarted daemon on SQLite) share the window.

import type { Clock } from '../core/clock.ts';

export interface HookKey {
  namespace: string;
  name: string;
  phase: string;
  checksum: string;
  /** A digest of the script (any stable text naming the test). */
  script: string;
}

/** One string per hook, for maps keyed by hook (the failure cache, runs to re-attach to). */
export function hookId(k: HookKey): string {
  let id = ids.get(k);
  if (id === undefined) {
    id = JSON.stringify([k.namespace, k.name, k.phase, k.checksum, k.script]);
    ids.set(k, id);
  }
  return id;
}

// A key is made once per request and asked for its id by the cache, admission and records.
const ids = new WeakMap<HookKey, string>();

export interface FailureCache {
  /** Milliseconds left in the window, or 0 when a run may go ahead. */
  remainingMs(key: HookKey, delayMs: number): number;
  recordFailure(key: HookKey): void;
  /** Adopts a failure another replica (or this process before a restart) recorded at `at`. */
  learn(key: HookKey, at: number): void;
  size(): number;
}

/** Entries older than this are dropped whatever the request's delay (bounds memory). */
const FAILURE_CACHE_MAX_AGE_MS = 24 * 3_600_000;
export const FAILURE_CACHE_MAX_ENTRIES = 10_000;

/** @param writeThrough called with every failure recorded here (the store, for replicas). */
export function createFailureCache(
  clock: Clock,
  writeThrough: (hook: string, at: number) => void = () => {},
): FailureCache {
  const lastFailure = new Map<string, number>();

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
      const at = lastFailure.get(hookId(key));
      if (at === undefined) return 0;
      return Math.max(0, at + delayMs - clock.now());
    },
    recordFailure(key) {
      const k = hookId(key);
      const now = clock.now();
      lastFailure.delete(k); // re-inserted last, so the Map stays oldest-first
      lastFailure.set(k, now);
      prune(now);
      writeThrough(k, now);
    },
    learn(key, at) {
      const k = hookId(key);
      if ((lastFailure.get(k) ?? -Infinity) >= at) return;
      lastFailure.delete(k);
      lastFailure.set(k, at);
      prune(clock.now());
    },
    size: () => lastFailure.size,
  };
}
