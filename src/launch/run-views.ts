// The runs as their readers see them — the runs API, the page, an Argo Rollouts web metric: a
// run record (and, while this process runs it, its handle) turned into one JSON view; the list
// (running first, then recent, paged), one run, and a canary's current verdict. Visibility is
// the caller's: every function takes which namespaces it may see.

import type { Clock } from '../core/clock.ts';
import { BadRequest, NotFound } from '../core/errors.ts';
import { statOf, type Comparison } from '../k6/compare.ts';
import { lastLine } from '../k6/output.ts';
import type { ThresholdResult } from '../k6/summary-export.ts';
import type { RunHandle } from '../runners/runner.ts';
import type { RunQuery, RunRecord, Store } from '../store/store.ts';
import type { RunRegistry } from './run-registry.ts';

/** Whether the caller may see a namespace's runs. */
export type Visible = (namespace: string) => boolean;

export interface RunView {
  runId: string;
  namespace: string;
  name: string;
  phase: string;
  checksum: string;
  runner: string;
  /** `running`, or the verdict (passed, failed, aborted, error, lost). */
  state: string;
  startedAt: string;
  endedAt: string | null;
  /** So far, while running. */
  durationMs: number;
  reason: string | null;
  exitCode: number | null;
  /** k6's last line while this process runs it (its progress). */
  progress: string | null;
  /** p(95) of http_req_duration (ms), http_req_failed's rate, iterations: the trend's numbers. */
  numbers: { p95: number | null; errorRate: number | null; iterations: number | null };
  thresholds: ThresholdResult[];
  comparison: Comparison | null;
  /** Where to read more: this run (JSON), its log (SSE), its page. */
  links: { self: string; log: string; page: string };
}

export interface RunDetail extends RunView {
  metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  outputTail: string | null;
}

/** Runs of the other pages are looked through this many at a time, at most LIST_PAGES times. */
const PAGE = 200;
const LIST_PAGES = 50;
const MAX_LIMIT = 500;

export function createRunViews(deps: { store: Store; registry: RunRegistry; clock: Clock }) {
  const view = (r: RunRecord): RunView => toView(r, deps.registry.live(r.runId), deps.clock.now());

  // Up to `limit` visible runs of a query, paging through the store.
  async function collect(q: Omit<RunQuery, 'limit'>, limit: number, visible: Visible) {
    const out: RunRecord[] = [];
    let before = q.before;
    for (let page = 0; page < LIST_PAGES && out.length < limit; page++) {
      // As many as are still wanted (the most common case: every run visible), then more.
      const want = page === 0 ? limit : PAGE;
      const rows = await deps.store.listRuns({ ...q, before, limit: want });
      for (const r of rows) if (visible(r.namespace) && out.length < limit) out.push(r);
      if (rows.length < want) return { runs: out, more: false };
      before = rows[rows.length - 1];
    }
    return { runs: out, more: true };
  }

  return {
    view,
    /** Running first (all of them, on the first page), then the ended, newest first; `next` is
     * the `before` of the following page. */
    async list(
      q: Omit<RunQuery, 'before' | 'limit'> & { before?: string | undefined; limit?: number },
      visible: Visible,
    ) {
      const limit = Math.min(MAX_LIMIT, q.limit ?? 50);
      const before = q.before === undefined ? undefined : await deps.store.run(q.before);
      if (q.before !== undefined && !before) throw new BadRequest('before', 'no such run');
      const running =
        q.state === undefined && !before
          ? (await collect({ ...q, state: 'running', before }, MAX_LIMIT, visible)).runs
          : [];
      const state = q.state ?? 'ended';
      const rest = await collect({ ...q, state, before }, limit, visible);
      const runs = [...running, ...rest.runs].map(view);
      const last = rest.runs[rest.runs.length - 1];
      return { runs, next: rest.runs.length === limit && last ? last.runId : null };
    },
    /** One run, or NotFound (also for a run the caller may not see: its existence is not told). */
    async get(runId: string, visible: Visible): Promise<RunDetail> {
      const r = await deps.store.run(runId);
      if (!r || !visible(r.namespace)) throw new NotFound(`no run ${runId}`);
      return { ...view(r), metrics: r.summary?.metrics ?? {}, outputTail: r.outputTail };
    },
  };
}

export type RunViews = ReturnType<typeof createRunViews>;

function toView(r: RunRecord, live: RunHandle | undefined, now: number): RunView {
  const metrics = r.summary?.metrics ?? {};
  const number = (metric: string, stat: string) => statOf(metrics, metric, stat);
  return {
    runId: r.runId,
    namespace: r.namespace,
    name: r.name,
    phase: r.phase,
    checksum: r.checksum,
    runner: r.runner,
    state: r.verdict ?? 'running',
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    durationMs: (r.endedAt ?? now) - r.startedAt,
    reason: r.reason,
    exitCode: r.exitCode,
    progress: r.verdict === null && live ? lastLine(live.output()).slice(0, 300) : null,
    numbers: {
      p95: number('http_req_duration', 'p(95)'),
      errorRate: number('http_req_failed', 'rate'),
      iterations: number('iterations', 'count'),
    },
    thresholds: r.summary?.thresholds ?? [],
    comparison: r.summary?.comparison ?? null,
    links: linksOf(r.runId),
  };
}

function linksOf(runId: string) {
  const id = encodeURIComponent(runId);
  return { self: `/api/v1/runs/${id}`, log: `/api/v1/runs/${id}/log`, page: `/#/runs/${id}` };
}
