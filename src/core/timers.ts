// One cancellable timer for every supervisor: `after(ms, signal, fn)` runs `fn` once `ms` have
// passed unless `signal` aborted first, with node:timers/promises underneath, so a run's timers
// all end with its one AbortController and nobody writes clearTimeout by hand.

import { setTimeout as sleep } from 'node:timers/promises';

/** Runs `fn` after `ms` unless `signal` aborts first. */
export function after(ms: number, signal: AbortSignal, fn: () => void): void {
  sleep(ms, undefined, { signal }).then(fn, () => {});
}
