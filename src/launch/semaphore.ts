// The concurrency limit: a counting semaphore that never blocks. A slot is either granted now
// or refused (the caller answers 429); each grant's release works exactly once.

export interface Slot {
  /** Returns the slot; calling it again does nothing. */
  release(): void;
}

export interface Semaphore {
  readonly capacity: number;
  /** Slots in use right now. */
  inUse(): number;
  tryAcquire(): Slot | undefined;
}

export function createSemaphore(capacity: number): Semaphore {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`semaphore capacity must be a positive integer, got ${capacity}`);
  }
  let used = 0;
  return {
    capacity,
    inUse: () => used,
    tryAcquire() {
      if (used >= capacity) return undefined;
      used += 1;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          used -= 1;
        },
      };
    },
  };
}
