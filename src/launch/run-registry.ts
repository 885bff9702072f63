// The process registry: every run that is alive, every background task (verdict handling,
// notifications), and the shutdown drain that stops them all and waits for each exactly once.

import type { RunHandle, RunResult } from '../runners/runner.ts';

export interface RunInfo {
  runId: string;
  requestId: string;
  namespace: string;
  name: string;
  phase: string;
  mode: 'wait' | 'async' | 'stateful';
  /** The hook the run answers (canary, phase, checksum, script), for re-attaching. */
  hook: string;
  pid?: number;
  startedAt: number;
}

export interface RunRegistry {
  /** Tracks a run until its result settles, and its record until `recorded` settles (the
   * verdict written to the store): shutdown waits for both. */
  track(handle: RunHandle, info: RunInfo, recorded?: Promise<void>): void;
  /** Tracks a background task so shutdown waits for it; its rejection is the task's problem. */
  trackTask(task: Promise<unknown>): void;
  running(): RunInfo[];
  /** The handle of a run alive in this process. */
  live(runId: string): RunHandle | undefined;
  /** Settles once the store holds the end of a run this process tracks (undefined for any
   * other run, or once it is written): what a reader of the record waits for. */
  recorded(runId: string): Promise<void> | undefined;
  /** A live waited run of this hook, which a retried call can wait on instead of a new run. */
  attachable(hook: string): RunHandle | undefined;
  /** Durations of the most recent finished runs, newest last. */
  recentDurationsMs(): number[];
  readonly draining: boolean;
  /** Stops accepting, cancels every run (reason `shutdown`), waits for runs and tasks. */
  shutdown(): Promise<void>;
}

const RECENT_DURATIONS = 50;

export function createRunRegistry(): RunRegistry {
  const runs = new Map<string, { handle: RunHandle; info: RunInfo }>();
  const records = new Map<string, Promise<void>>();
  const tasks = new Set<Promise<unknown>>();
  const recent: number[] = [];
  let draining = false;

  return {
    track(handle, info, recorded) {
      runs.set(handle.runId, { handle, info });
      if (recorded) {
        const written = recorded.then(
          () => {},
          () => {},
        );
        records.set(handle.runId, written);
        this.trackTask(written.finally(() => records.delete(handle.runId)));
      }
      const done = handle.result.then((result: RunResult) => {
        runs.delete(handle.runId);
        recent.push(result.durationMs);
        if (recent.length > RECENT_DURATIONS) recent.shift();
      });
      this.trackTask(done);
      if (handle.released) this.trackTask(handle.released);
    },
    trackTask(task) {
      const settled = task.then(
        () => {},
        () => {},
      );
      tasks.add(settled);
      void settled.finally(() => tasks.delete(settled));
    },
    running: () => [...runs.values()].map((r) => r.info),
    live: (runId) => runs.get(runId)?.handle,
    recorded: (runId) => records.get(runId),
    attachable: (hook) =>
      [...runs.values()].find((r) => r.info.hook === hook && r.info.mode === 'wait')?.handle,
    recentDurationsMs: () => [...recent],
    get draining() {
      return draining;
    },
    async shutdown() {
      draining = true;
      for (const { handle } of runs.values()) handle.cancel('shutdown');
      // Tasks can add tasks (a run's result starts its notification): drain until empty.
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
}

/** Seconds a caller refused with 429 should wait: the soonest expected end of a running run,
 * from the median duration of recent runs; small and honest, never negative or NaN. */
export function estimateRetryAfterSeconds(
  running: Pick<RunInfo, 'startedAt'>[],
  recentDurationsMs: number[],
  now: number,
): number {
  const MIN = 1;
  const MAX = 60;
  const NO_HISTORY = 10;
  if (recentDurationsMs.length === 0 || running.length === 0) return NO_HISTORY;
  const sorted = [...recentDurationsMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const soonest = Math.min(...running.map((r) => r.startedAt + median - now));
  return Math.min(MAX, Math.max(MIN, Math.ceil(soonest / 1000)));
}
