// Callers waiting on a run, so a retried blocking call re-attaches instead of starting a second
// k6: Flagger's client times out, goes away, and retries the same hook a second later. A run
// whose last waiting caller left is canceled only after --reattach-grace, unless a request for
// the same canary, phase, checksum and script attached meanwhile (0 cancels at once).

import { setTimeout as sleep } from 'node:timers/promises';
import type { CancelReason, RunHandle } from '../runners/runner.ts';

export interface Attachments {
  /** A caller starts waiting on the run. */
  join(handle: RunHandle): void;
  /** A caller went away; the run is canceled once no caller is back within the grace. */
  leave(handle: RunHandle, reason?: CancelReason): void;
}

export function createAttachments(graceMs: number): Attachments {
  const waiting = new Map<RunHandle, { callers: number; pending?: AbortController }>();
  return {
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
      void sleep(graceMs, undefined, { signal: pending.signal })
        .then(() => handle.cancel(reason))
        .catch(() => {});
    },
  };
}
