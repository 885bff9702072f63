// The launch service's side of the store: every run's record from start to verdict (with the
// owner's lease renewed while it goes on), and a stateful hook's answer from the store when this
// process holds no state for it — after a restart (SQLite), or when Flagger's call lands on
// another replica than the one running the test (PostgreSQL): the recorded verdict, or 202
// while the owner's lease is fresh. A run whose owner stopped renewing is marked lost and the
// hook starts afresh. The store failing never fails a run: it is logged.

import type { Clock } from '../core/clock.ts';
import type { LogFields, Logger } from '../core/log.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import { dropBanner } from '../k6/output.ts';
import { numericMetrics, thresholdResults } from '../k6/summary-export.ts';
import { runResult, type RunHandle, type RunResult } from '../runners/runner.ts';
import {
  LEASE_MS,
  LEASE_RENEW_MS,
  OUTPUT_TAIL_CHARS,
  type RunRecord,
  type RunSummary,
  type Store,
} from '../store/store.ts';
import { answer, type LaunchOutcome } from './answer.ts';
import { hookId, type HookKey } from './failure-cache.ts';

interface RecordDeps {
  store: Store;
  clock: Clock;
  /** How long a stateful hook's verdict is answered after the run ended. */
  statefulTtlMs: number;
}

/** Records the run's start now, renews its lease while it goes on, and records its verdict;
 * `recorded` settles once that is written. A run k6gate leaves at shutdown keeps no verdict (a
 * pod run goes on; a retry re-attaches). */
export async function recordRun(
  deps: RecordDeps,
  req: LaunchRequest,
  run: { handle: RunHandle; key: HookKey; runner: RunnerKind; logger: Logger },
): Promise<{ recorded: Promise<void> }> {
  const { handle } = run;
  const failed = (err: unknown) => run.logger.error('cannot record the run in the store', { err });
  try {
    await deps.store.noteRevision(req.namespace, req.name, req.checksum);
    await deps.store.recordStart({
      runId: handle.runId,
      namespace: req.namespace,
      name: req.name,
      phase: req.phase,
      checksum: req.checksum,
      hook: hookId(run.key),
      runner: run.runner,
      startedAt: handle.startedAt,
      heartbeatAt: deps.clock.now(),
      endedAt: null,
      verdict: null,
      reason: null,
      exitCode: null,
      script: run.key.script,
      summary: null,
      outputTail: null,
    });
  } catch (err) {
    failed(err);
  }
  // The lease tells other replicas (or this process after a restart) the run is alive; an
  // in-memory store has no one else to tell.
  const lease = deps.store.persistent
    ? setInterval(
        () => void deps.store.heartbeat(handle.runId, deps.clock.now()).catch(failed),
        LEASE_RENEW_MS,
      )
    : undefined;
  lease?.unref();
  const recorded = handle.result.then(async (result) => {
    clearInterval(lease);
    if (result.cancelReason === 'shutdown') return;
    const end = {
      endedAt: deps.clock.now(),
      verdict: result.verdict,
      reason: result.reason,
      exitCode: result.exitCode,
      summary: summaryOf(result),
      outputTail: dropBanner(result.output).slice(-OUTPUT_TAIL_CHARS),
    };
    await deps.store.recordEnd(handle.runId, end).catch(failed);
  });
  return { recorded };
}

/** A stateful hook's answer from the store: its verdict within --stateful-ttl, or 202 while
 * another replica's run goes on; undefined when this call must start the run. */
export async function answerFromRecord(
  deps: RecordDeps,
  req: LaunchRequest,
  ask: { hook: string; runner: RunnerKind; log: (msg: string, fields: LogFields) => void },
): Promise<LaunchOutcome | undefined> {
  const now = deps.clock.now();
  const runs = (await deps.store.runsOf(req.namespace, req.name, req.checksum)).filter(
    (r) => r.hook === ask.hook,
  );
  const running = runs.find((r) => r.verdict === null);
  if (running && running.heartbeatAt + LEASE_MS > now) {
    ask.log('stateful hook: the run goes on at another replica', { runId: running.runId });
    const seconds = Math.round((now - running.startedAt) / 1000);
    const body = `running for ${seconds}s on another k6gate replica (run ${running.runId})\n`;
    return { runId: running.runId, status: 202, body };
  }
  if (running) {
    const reason = 'its k6gate stopped renewing the run (replica gone)';
    await deps.store.recordEnd(running.runId, {
      endedAt: now,
      verdict: 'lost',
      reason,
      exitCode: null,
    });
    ask.log('stateful hook: the run of a replica that stopped is lost; starting again', {
      runId: running.runId,
    });
    return undefined;
  }
  const ended = runs.find((r) => isAnswerable(r, now, deps.statefulTtlMs));
  if (!ended || ended.endedAt === null) return undefined;
  ask.log('stateful hook: answering from the recorded verdict', {
    runId: ended.runId,
    state: ended.verdict,
  });
  const at = new Date(ended.endedAt).toISOString();
  const result = runResult({
    runId: ended.runId,
    exitCode: ended.exitCode,
    verdict: ended.verdict as Exclude<RunRecord['verdict'], 'lost' | null>,
    reason: ended.reason ?? '',
    durationMs: ended.endedAt - ended.startedAt,
    output: `(k6gate: the verdict recorded for run ${ended.runId} at ${at})`,
  });
  return answer(result, { runner: ask.runner });
}

const isAnswerable = (r: RunRecord, now: number, ttlMs: number) =>
  r.verdict !== null && r.verdict !== 'lost' && r.endedAt !== null && r.endedAt + ttlMs > now;

/** What a store keeps of a run's numbers: null when k6 exported no summary and nothing was
 * compared. */
function summaryOf(result: RunResult): RunSummary | null {
  if (!result.summary && !result.comparison) return null;
  return {
    metrics: result.summary ? numericMetrics(result.summary) : {},
    thresholds: result.summary ? thresholdResults(result.summary) : [],
    comparison: result.comparison ?? null,
  };
}
