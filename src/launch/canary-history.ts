// A canary's history: the rollout timeline Flagger's event webhook reports (stored per
// revision), the trend of its runs over its last revisions, and its current verdict as an
// Argo Rollouts web metric reads it ({status: running|passed|failed|none, …}), optionally
// waiting for a run under way to end.

import type { Clock } from '../core/clock.ts';
import { wait } from '../core/timers.ts';
import type { Store, TimelineEvent } from '../store/store.ts';
import type { RunRegistry } from './run-registry.ts';
import type { RunView, RunViews } from './run-views.ts';

/** A canary's runs looked through for its timeline and trend. */
const HISTORY_RUNS = 200;
const HISTORY_EVENTS = 200;

export interface CanaryRef {
  namespace: string;
  name: string;
}

export interface VerdictAnswer {
  status: 'running' | 'passed' | 'failed' | 'none';
  reason: string;
  run: RunView | null;
}

export function createCanaryHistory(deps: {
  store: Store;
  registry: RunRegistry;
  views: RunViews;
  clock: Clock;
}) {
  async function latest(
    c: CanaryRef & { checksum?: string | undefined; phase?: string | undefined },
  ) {
    const runs = await deps.store.listRuns({
      namespace: c.namespace,
      name: c.name,
      limit: HISTORY_RUNS,
    });
    return runs.find(
      (r) => (!c.checksum || r.checksum === c.checksum) && (!c.phase || r.phase === c.phase),
    );
  }

  return {
    /** Stores one of Flagger's events (its event webhook). */
    async recordEvent(e: Omit<TimelineEvent, 'at'>) {
      await deps.store.recordEvent({ ...e, at: deps.clock.now() });
    },

    /** The canary's revisions, newest first: each with its runs and Flagger's events. */
    async timeline(c: CanaryRef) {
      const runs = (await deps.store.listRuns({ ...c, limit: HISTORY_RUNS })).map(deps.views.view);
      const events = await deps.store.eventsOf(c.namespace, c.name, HISTORY_EVENTS);
      const revisions = new Map<
        string,
        { checksum: string; runs: RunView[]; events: TimelineEvent[] }
      >();
      const of = (checksum: string) => {
        const known = revisions.get(checksum);
        if (known) return known;
        const rev = { checksum, runs: [] as RunView[], events: [] as TimelineEvent[] };
        revisions.set(checksum, rev);
        return rev;
      };
      // Newest first across both lists, so revisions come in the order they were last active
      // (a Map keeps the order its keys were first set in).
      const items = [
        ...runs.map((r) => ({
          at: Date.parse(r.startedAt),
          add: () => of(r.checksum).runs.push(r),
        })),
        ...events.map((e) => ({ at: e.at, add: () => of(e.checksum).events.push(e) })),
      ].sort((a, b) => b.at - a.at);
      for (const item of items) item.add();
      return [...revisions.values()];
    },

    /** Per revision (oldest first, the last `revisions`): its newest ended run's numbers. */
    async trend(c: CanaryRef, revisions: number) {
      const runs = await deps.store.listRuns({ ...c, state: 'ended', limit: HISTORY_RUNS });
      const seen = new Set<string>();
      const points: RunView[] = [];
      for (const r of runs) {
        if (seen.has(r.checksum) || r.summary === null) continue;
        seen.add(r.checksum);
        points.push(deps.views.view(r));
      }
      return points
        .slice(0, revisions)
        .reverse()
        .map((v) => ({
          checksum: v.checksum,
          runId: v.runId,
          at: v.endedAt,
          state: v.state,
          ...v.numbers,
        }));
    },

    /** The newest run of a canary (of a revision, a phase) as a web metric reads it; with
     * `waitMs`, a run under way is waited for that long. */
    async verdict(
      c: CanaryRef & { checksum?: string | undefined; phase?: string | undefined },
      waitMs: number,
      signal: AbortSignal,
    ): Promise<VerdictAnswer> {
      let run = await latest(c);
      const until = deps.clock.now() + waitMs;
      while (run && run.verdict === null && deps.clock.now() < until && !signal.aborted) {
        // A run of this process: until its verdict is written; another replica's: a poll.
        const recorded = deps.registry.recorded(run.runId);
        const left = until - deps.clock.now();
        await (
          recorded
            ? Promise.race([recorded, wait(left, signal)])
            : wait(Math.min(1000, left), signal)
        ).catch(() => {});
        run = (await deps.store.run(run.runId)) ?? run;
      }
      if (!run)
        return { status: 'none', reason: 'no run of this canary (revision, phase) yet', run: null };
      const view = deps.views.view(run);
      if (run.verdict === null)
        return {
          status: 'running',
          reason: `running for ${Math.round(view.durationMs / 1000)}s`,
          run: view,
        };
      const status = run.verdict === 'passed' ? 'passed' : 'failed';
      return { status, reason: run.reason ?? '', run: view };
    },
  };
}

export type CanaryHistory = ReturnType<typeof createCanaryHistory>;
