// One cancellable timer for every supervisor: `after(ms, signal, fn)` runs `fn` once `ms` have
// passed unless `signal` aborted first, so a run's timers all end with its one AbortController
// and nobody writes clearTimeout by hand. A plain timer and one abort listener: the promise
// form (node:timers/promises with a signal) rejects each ended timer with an AbortError, a
// DOMException with a stack, three per run (bench/README.md, "CPU per run").

/** Runs `fn` after `ms` unless `signal` aborts first. */
export function after(ms: number, signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) return;
  const stop = () => clearTimeout(timer);
  const timer = setTimeout(() => {
    signal.removeEventListener('abort', stop);
    fn();
  }, ms);
  signal.addEventListener('abort', stop, { once: true });
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects): a poll's pause that a
 * leaving caller ends. Not node:timers/promises, whose module costs the daemon's start ~0.2 ms
 * and whose aborted sleeps reject with an AbortError each. */
export function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return Bun.sleep(ms);
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves `value` after `ms`; `cancel` clears the timer (a race's loser). */
export function delay<T>(ms: number, value: T): { promise: Promise<T>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(resolve, ms, value);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
