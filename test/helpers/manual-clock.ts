// The clock seam's test implementation: time moves only when a test says so.

import type { Clock } from '../../src/core/clock.ts';

export function createManualClock(
  start = 1_700_000_000_000,
): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
