// Orphans of local runs. The daemon is a child subreaper (os/linux.ts), so a process a run left
// behind outside its process group (a grandchild that called setsid, say) is re-parented to
// the daemon instead of init. The daemon spawns nothing but k6, so every child that is not a
// live run leader is such an orphan: each run's end kills them all and reaps them.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/log.ts';
import { listChildren, reapIfExited } from '../../os/linux.ts';

export interface OrphanSweeper {
  /** Marks a run leader (not an orphan) until it exits. */
  adopt(pid: number): void;
  release(pid: number): void;
  /** Kills and reaps every child that is not a live run leader. */
  sweep(logger: Logger): Promise<void>;
  /** The same, soon and at most once per SWEEP_COALESCE_MS, off the caller's path: a run whose
   * output closed cleanly has no orphan holding it, but may have one that closed its output. */
  sweepSoon(logger: Logger): void;
}

const REAP_POLL_MS = 10;
const SWEEP_COALESCE_MS = 250;
const REAP_WAIT_MS = 2000;

export function createOrphanSweeper(): OrphanSweeper {
  const leaders = new Set<number>();
  let scheduled = false;
  return {
    adopt: (pid) => void leaders.add(pid),
    release: (pid) => void leaders.delete(pid),
    sweepSoon(logger) {
      if (scheduled) return;
      scheduled = true;
      void sleep(SWEEP_COALESCE_MS)
        .then(() => {
          scheduled = false;
          return this.sweep(logger);
        })
        .catch((err: unknown) => logger.error('orphan sweep failed', { err }));
    },
    async sweep(logger) {
      const orphans = listChildren().filter((c) => !leaders.has(c.pid));
      for (const o of orphans) {
        if (o.state !== 'Z') {
          logger.warn('killing a process a k6 run left behind', { orphanPid: o.pid });
          try {
            process.kill(o.pid, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
      }
      await Promise.all(orphans.map((o) => reap(o.pid)));
    },
  };
}

async function reap(pid: number) {
  for (let waited = 0; waited < REAP_WAIT_MS; waited += REAP_POLL_MS) {
    if (reapIfExited(pid)) return;
    await sleep(REAP_POLL_MS);
  }
}
