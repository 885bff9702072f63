// Callers waiting on a run, so a retried blocking call re-attaches instead of starting a second
// k6: Flagger's client times out, goes away, and retries the same hook a second later. A run
// whose last waiting caller left is canceled only after --reattach-grace, unless a request for
// the same canary, phase, checksum and script attached meanwhile (0 cancels at once).

import { after } from '../core/timers.ts';
import { callerGoneReason, type CancelReason, type RunHandle } from '../runners/runner.ts';

export interface Attachments {
  /** A caller starts waiting on the run. */
  join(handle: RunHandle): void;
  /** A caller went away; the run is canceled once no caller is back within the grace. */
  leave(handle: RunHandle, reason?: CancelReason): void;
  /** Holds the run while the caller whose `signal` this is waits (join, and leave when it
   * aborts); the returned function stops listening once the caller has its answer. */
  hold(signal: AbortSignal, handle: RunHandle): () => void;
}

export function createAttachments(graceMs: number): Attachments {
  const waiting = new Map<RunHandle, { callers: number; pending?: AbortController }>();
  const attachments: Attachments = {
    hold(signal, handle) {
      attachments.join(handle);
      const onGone = () => attachments.leave(handle, callerGoneReason(signal));
      if (signal.aborted) onGone();
      else signal.addEventListener('abort', onGone, { once: true });
      return () => signal.removeEventListener('abort', onGone);
    },
    join(handle) {
      const entry = waiting.get(handle) ?? { callers: 0 };
      entry.pending?.abort(); // a caller is back: no cancel
      delete entry.pending;
      entry.callers++;
      if (!waiting.has(handle)) {
        waiting.set(handle, entry);
        void handle.result.finally(() => {
          waiting.get(handle)?.pending?.abort();
          waiting.delete(handle);
        });
      }
    },
    leave(handle, reason = 'client-gone') {
      const entry = waiting.get(handle);
      if (!entry) return;
      entry.callers--;
      if (entry.callers > 0) return;
      if (graceMs <= 0) return handle.cancel(reason);
      const pending = new AbortController();
      entry.pending = pending;
      after(graceMs, pending.signal, () => handle.cancel(reason));
    },
  };
  return attachments;
}
