// The store seam: what k6gate remembers beyond one request — run records (who ran what for
// which revision, and its verdict) and the manual gates — in memory (the default), or in
// SQLite to outlive a restart. One interface, async so a networked store can stand behind it.

import type { Comparison, MetricValues } from '../k6/compare.ts';
import type { Verdict } from '../k6/exit-codes.ts';
import type { ThresholdResult } from '../k6/summary-export.ts';

/** One run of a canary's hook, as the gates and the stateful answers read it. */
export interface RunRecord {
  runId: string;
  namespace: string;
  name: string;
  phase: string;
  /** Flagger's revision identity. */
  checksum: string;
  /** The hook's identity (canary, phase, checksum, script digest): failure cache and attach key. */
  hook: string;
  runner: string;
  startedAt: number;
  /** The owner's last sign of life while the run goes on (its lease); see LEASE_MS. */
  heartbeatAt: number;
  endedAt: number | null;
  /** null while running; `lost` when the process that ran it died before its verdict. */
  verdict: Verdict | 'lost' | null;
  reason: string | null;
  exitCode: number | null;
  /** Digest of the script (or its ConfigMap reference): runs of one script are comparable. */
  script: string;
  /** What k6 summed up, once ended (null: no summary, or still running). */
  summary: RunSummary | null;
  /** The end of k6's output, once ended (bounded by OUTPUT_TAIL_CHARS). */
  outputTail: string | null;
}

/** A run's numbers, kept for its page, the trend of its canary and later comparisons. */
export interface RunSummary {
  metrics: MetricValues;
  thresholds: ThresholdResult[];
  comparison: Comparison | null;
}

/** The end of a run's output a store keeps (the end-of-test summary fits). */
export const OUTPUT_TAIL_CHARS = 4096;

/** What the runs API asks: filters, newest first, `before` a run for the next page. */
export interface RunQuery {
  namespace?: string | undefined;
  name?: string | undefined;
  /** `running` (no verdict yet), `ended`, or one verdict. */
  state?: 'running' | 'ended' | RunRecord['verdict'] | undefined;
  before?: Pick<RunRecord, 'startedAt' | 'runId'> | undefined;
  limit: number;
}

/** What Flagger's event webhook said about a canary (the rollout timeline). */
export interface TimelineEvent {
  namespace: string;
  name: string;
  checksum: string;
  phase: string;
  /** Flagger's eventType: Normal or Warning. */
  type: string;
  message: string;
  at: number;
}

/** Flagger's loadtester gates: `confirm` (gate/open, gate/check) and `rollback`. */
export type ManualGate = 'confirm' | 'rollback';

export interface GateState {
  open: boolean;
  /** The revision the gate was opened or closed for; null: the next revision that asks. */
  checksum: string | null;
}

export interface Store {
  /** Whether what is stored outlives this process (a file, a database). The in-memory store's
   * records are the process's own state again: nothing needs learning back or a lease. */
  readonly persistent: boolean;
  recordStart(run: RunRecord): Promise<void>;
  recordEnd(
    runId: string,
    end: {
      endedAt: number;
      verdict: RunRecord['verdict'];
      reason: string;
      exitCode: number | null;
      summary?: RunSummary | null;
      outputTail?: string | null;
    },
  ): Promise<void>;
  /** The owner renews its lease on a run under way. */
  heartbeat(runId: string, at: number): Promise<void>;
  /** A canary's runs for one revision, newest first. */
  runsOf(namespace: string, name: string, checksum: string): Promise<RunRecord[]>;
  /** One run by id. */
  run(runId: string): Promise<RunRecord | undefined>;
  /** Runs matching the query, newest first (started_at, then run id); without their output
   * tails (`run` has them). */
  listRuns(query: RunQuery): Promise<RunRecord[]>;
  /** Passed runs of a canary's script with a summary, from revisions other than `checksum`,
   * newest first: the candidates for a `last-promoted` baseline. */
  baselineCandidates(
    canary: { namespace: string; name: string; script: string; checksum: string },
    limit: number,
  ): Promise<RunRecord[]>;
  /** The rollout timeline: Flagger's events, newest kept (MAX_EVENTS). */
  recordEvent(event: TimelineEvent): Promise<void>;
  eventsOf(namespace: string, name: string, limit: number): Promise<TimelineEvent[]>;
  setGate(namespace: string, name: string, gate: ManualGate, state: GateState): Promise<void>;
  gate(namespace: string, name: string, gate: ManualGate): Promise<GateState | undefined>;
  /** The failure cache's write-through: when a hook last failed. */
  recordFailure(hook: string, at: number): Promise<void>;
  failureAt(hook: string): Promise<number | undefined>;
  /** The newest revision Flagger sent for a canary (a gate opened by hand binds to it). */
  noteRevision(namespace: string, name: string, checksum: string): Promise<void>;
  lastRevision(namespace: string, name: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A run under way whose owner gave no sign of life this long is taken as lost (its replica
 * died): another replica starts the hook anew. Owners renew every LEASE_RENEW_MS. */
export const LEASE_MS = 30_000;
export const LEASE_RENEW_MS = 10_000;

/** Runs kept per store; the oldest ended ones go first. */
export const MAX_RUN_RECORDS = 10_000;
/** Timeline events kept per store; the oldest go first. */
export const MAX_EVENTS = 10_000;

/** Whether a run matches a query's filters (the memory store; SQL stores filter in SQL). */
export function matchesQuery(r: RunRecord, q: RunQuery): boolean {
  if (q.namespace !== undefined && r.namespace !== q.namespace) return false;
  if (q.name !== undefined && r.name !== q.name) return false;
  if (q.state === 'running' && r.verdict !== null) return false;
  if (q.state === 'ended' && r.verdict === null) return false;
  if (
    q.state !== undefined &&
    q.state !== 'running' &&
    q.state !== 'ended' &&
    r.verdict !== q.state
  )
    return false;
  if (q.before && !isBefore(r, q.before)) return false;
  return true;
}

const isBefore = (
  r: Pick<RunRecord, 'startedAt' | 'runId'>,
  b: Pick<RunRecord, 'startedAt' | 'runId'>,
) => r.startedAt < b.startedAt || (r.startedAt === b.startedAt && r.runId < b.runId);

/** Newest first: by start, then run id (ids of one millisecond sort by their UUIDv7 order). */
export const newestFirst = (a: RunRecord, b: RunRecord) =>
  b.startedAt - a.startedAt || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0);
