// The clock seam: wall time, injectable so tests control it (test/helpers/manual-clock.ts).
// Waiting is done with core/timers.ts and AbortSignals where it happens.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
