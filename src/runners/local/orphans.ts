// Orphans of local runs. The daemon is a child subreaper (os/linux.ts), so a process a run left
// behind outside its process group (a grandchild that called setsid, say) is re-parented to
// the daemon instead of init. The daemon spawns nothing but k6, so every child that is not a
// live run leader is such an orphan. A sweep stops each orphan's whole subtree (SIGSTOP, so
// nothing in it forks any more), kills it, reaps what was re-parented, and repeats until a
// listing finds no orphan: a chain that refills itself dies with the run. Each run's end
// sweeps, and so does a periodic sweep (sweepEvery). Where each run has a cgroup of its own
// (os/cgroup.ts) cgroup.kill has ended the run's processes first; the sweep then only reaps.

import type { Logger } from '../../core/log.ts';
import { wait } from '../../core/timers.ts';
import { listChildren, reapIfExited, subtreesOf } from '../../os/linux.ts';

export interface OrphanSweeper {
  /** Marks a run leader (not an orphan) until it exits. */
  adopt(pid: number): void;
  release(pid: number): void;
  /** Kills and reaps every child that is not a live run leader. */
  sweep(logger: Logger): Promise<void>;
  /** The same, soon and at most once per SWEEP_COALESCE_MS, off the caller's path: a run whose
   * output closed cleanly has no orphan holding it, but may have one that closed its output. */
  sweepSoon(logger: Logger): void;
  /** Sweeps every `ms` in the background too (unref'd); returns the stop. */
  sweepEvery(ms: number, logger: Logger): () => void;
}

const REAP_POLL_MS = 10;
const SWEEP_COALESCE_MS = 250;
const REAP_WAIT_MS = 2000;
/** Passes of one sweep before it gives up (logged): each pass ends a whole subtree. */
const MAX_PASSES = 50;

export function createOrphanSweeper(): OrphanSweeper {
  const leaders = new Set<number>();
  let scheduled = false;
  return {
    adopt: (pid) => void leaders.add(pid),
    release: (pid) => void leaders.delete(pid),
    sweepSoon(logger) {
      if (scheduled) return;
      scheduled = true;
      void wait(SWEEP_COALESCE_MS)
        .then(() => {
          scheduled = false;
          return this.sweep(logger);
        })
        .catch((err: unknown) => logger.error('orphan sweep failed', { err }));
    },
    sweepEvery(ms, logger) {
      const timer = setInterval(() => this.sweepSoon(logger), ms);
      timer.unref();
      return () => clearInterval(timer);
    },
    async sweep(logger) {
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const orphans = listChildren().filter((c) => !leaders.has(c.pid));
        if (orphans.length === 0) return;
        killSubtrees(orphans, logger);
        await Promise.all(orphans.map((o) => reap(o.pid)));
      }
      logger.error('processes a k6 run left behind are still there after every pass', {
        passes: MAX_PASSES,
      });
    },
  };
}

// Stops every process under the live orphans first (no more forks), then kills them all.
function killSubtrees(orphans: { pid: number; state: string }[], logger: Logger) {
  const live = orphans.filter((o) => o.state !== 'Z').map((o) => o.pid);
  if (live.length === 0) return;
  const doomed = subtreesOf(live);
  logger.warn('killing processes a k6 run left behind', {
    orphanPids: doomed.slice(0, 20),
    count: doomed.length,
  });
  for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
    for (const pid of doomed) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }
}

async function reap(pid: number) {
  for (let waited = 0; waited < REAP_WAIT_MS; waited += REAP_POLL_MS) {
    if (reapIfExited(pid)) return;
    await wait(REAP_POLL_MS);
  }
}
