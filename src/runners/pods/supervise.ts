// Supervision of one run in pods (a Job's pod, or a TestRun's N runner pods): its pods are
// watched, not polled. Every runner running → started; every runner terminated → the verdict
// from each k6 exit code (the same table as local runs), OOMKilled or eviction, any runner not
// 0 failing the run and named in the reason; a run object that reports a failure of its own (a
// TestRun in stage `error`) ends it at once. k6gate's own start deadline holds for a run that
// never starts. Whatever ends the run, its object is deleted with a foreground cascade after the
// outcome was read — except on k6gate's shutdown, when the run is left to a retry, and for a
// stateful hook, whose object keeps the verdict for other replicas (pods/state.ts). While it
// runs, runner 1's log is followed for the live view (pods/live-log.ts).

import { after } from '../../core/timers.ts';
import type { Logger } from '../../core/log.ts';
import type { Verdict } from '../../k6/exit-codes.ts';
import { mergeSummaries, summaryOfRunners } from '../../k6/summary-merge.ts';
import { watchAlways } from '../../kube/objects.ts';
import { COLLECTION, LABEL, labelSelector } from '../../kube/names.ts';
import {
  createOrAttach,
  createScriptConfigMap,
  deleteRunObject,
  readLog,
  type RunObject,
} from './kube-calls.ts';
import { followPodLog, type LiveLog } from './live-log.ts';
import { runObjectName } from './manifest.ts';
import type { PodRunnerOptions } from './options.ts';
import { readPod, type Pod, type PodOutcome } from './pod-status.ts';
import { recordedResult, recordVerdict, supersedeOthers } from './state.ts';
import {
  runResult,
  type CancelReason,
  type RunHandle,
  type RunResult,
  type RunSpec,
  type StartOutcome,
} from '../runner.ts';

interface PodRun {
  /** `Job` or `TestRun`, for logs and reasons. */
  kind: string;
  name: string;
  /** The run object's API path; deleting it deletes everything of the run. */
  path: string;
  /** The run id every pod of the run carries (k6gate.io/run-id). */
  runLabel: string;
  /** How many runner pods make the run. */
  runners: number;
  /** Which runner a pod is (1-based), or undefined for a helper pod (initializer, starter). */
  runnerIndex(pod: Pod): number | undefined;
  /** Settles with a reason when the run object itself reports a failure; rejects on abort. */
  failure?(signal: AbortSignal): Promise<string>;
}

/** The run object a pod runner creates: where it goes and how it is built from its name. */
export interface RunObjectKind {
  apiVersion: string;
  kind: 'Job' | 'TestRun';
  /** The collection the object is POSTed to, in the canary's namespace. */
  collection: string;
  build(name: string): RunObject;
}

/** The least of each runner's log read, whatever the runner count (its summary fits). */
const MIN_LOG_SHARE = 8 * 1024;

/** Creates the run object, or attaches to the one under way for the same hook (its name comes
 * from canary, phase, checksum and script); a new run of an inline script gets its script
 * ConfigMap, owned by the object (a script_configmap is mounted by reference). Then supervises the run's pods. */
export async function startRunObject(
  target: RunObjectKind,
  spec: RunSpec,
  opts: PodRunnerOptions,
  run: {
    runners: number;
    runnerIndex(pod: Pod, name: string): number | undefined;
    failure?(signal: AbortSignal, name: string): Promise<string>;
  },
): Promise<RunHandle> {
  const name = runObjectName(spec);
  const made = await createOrAttach(
    opts.kube,
    spec.namespace,
    target.collection,
    target.build(name),
    opts.signer,
  );
  // Only where a run object now exists: a refused create leaves nothing to sweep.
  opts.usedNamespaces.add(spec.namespace);
  if (made.attached) {
    const recorded = recordedResult(made.meta, made.runId, target.kind, opts.signer);
    opts.logger.info('attaching to the run already under way for this canary, phase and checksum', {
      [target.kind.toLowerCase()]: `${spec.namespace}/${name}`,
      runId: made.runId,
      ...(recorded ? { verdict: recorded.verdict } : {}),
    });
    if (recorded) return endedRun(recorded, opts.clock.now());
  } else {
    if (spec.keepForMs !== undefined) {
      await supersedeOthers(opts.kube, target.collection, spec, name, opts.logger);
    }
    if (!spec.bundle?.inCluster) {
      const owner = { apiVersion: target.apiVersion, kind: target.kind, uid: made.uid };
      await createScriptConfigMap(opts.kube, spec, name, owner);
    }
  }
  return supervisePodRun(
    {
      runners: run.runners,
      ...(run.failure ? { failure: (signal: AbortSignal) => run.failure!(signal, name) } : {}),
      kind: target.kind,
      name,
      path: `${target.collection}/${name}`,
      runLabel: made.attached ? made.runId : spec.runId,
      runnerIndex: (pod) => run.runnerIndex(pod, name),
    },
    spec,
    opts,
  );
}

/** A run that ended before this replica saw it: its recorded verdict. */
function endedRun(result: RunResult, now: number): RunHandle {
  return {
    runId: result.runId,
    startedAt: now - result.durationMs,
    started: Promise.resolve({ kind: 'started', cloudUrl: undefined }),
    result: Promise.resolve(result),
    cancel: () => {},
    output: () => result.output,
    replayed: true,
  };
}

interface Ending {
  exitCode: number | null;
  verdict: Verdict;
  reason: string;
  pods: string[];
}

/** How a run k6gate stopped (or left behind) ends: no exit code, no pods to read. */
const ABORTED: Ending = { exitCode: null, verdict: 'aborted', reason: '', pods: [] };

// One run's pods, from start to verdict (see the header).
function supervisePodRun(run: PodRun, spec: RunSpec, opts: PodRunnerOptions): RunHandle {
  const startedAt = opts.clock.now();
  const logger = opts.logger.child({
    runId: spec.runId,
    canary: spec.canary,
    [run.kind.toLowerCase()]: `${spec.namespace}/${run.name}`,
  });
  const watching = new AbortController();
  const started = Promise.withResolvers<StartOutcome>();
  const ended = Promise.withResolvers<Ending>();
  let cancelReason: CancelReason | undefined;
  let live: LiveLog | undefined; // runner 1's log as it is written
  const state = watchPods(run, spec, opts, watching.signal, {
    started: () => started.resolve({ kind: 'started', cloudUrl: undefined }),
    running(pod, index) {
      if (index !== 1 || live) return;
      const target = { namespace: spec.namespace, pod };
      const follow = { maxBytes: opts.maxOutputBytes, signal: watching.signal, logger };
      live = followPodLog(opts.kube, target, follow);
    },
    ended: (e) => ended.resolve(e),
    aborted: () => cancelReason !== undefined,
    logger,
  });
  run
    .failure?.(watching.signal)
    .then((reason) => {
      const helper = state.helperEnded ? `; ${state.helperEnded}` : '';
      ended.resolve({ exitCode: null, verdict: 'error', reason: `${reason}${helper}`, pods: [] });
    })
    .catch(() => {});
  after(opts.startTimeoutMs, watching.signal, () =>
    started.resolve({ kind: 'timeout', ...stuckReason(state.stuck) }),
  );
  if (opts.maxRunMs > 0) after(opts.maxRunMs, watching.signal, () => cancel('timeout'));

  function cancel(reason: CancelReason) {
    if (cancelReason !== undefined) return;
    cancelReason = reason;
    if (reason === 'shutdown') {
      // The run goes on in its pods: Flagger's retry, to any replica, re-attaches to it.
      logger.info(`k6gate is shutting down: leaving the ${run.kind} running for a retry to attach`);
      ended.resolve(ABORTED);
      return;
    }
    logger.info(`stopping the run: deleting its ${run.kind}`, { reason });
    void deleteRunObject(opts.kube, run.path, logger);
    // A pod that never ran leaves no event to wait for beyond its deletion; bound the wait.
    after(opts.killGraceMs + 10_000, watching.signal, () => ended.resolve(ABORTED));
  }

  const result = (async (): Promise<RunResult> => {
    const ending = await ended.promise;
    started.resolve({ kind: 'exited' });
    const { output, summary } = await readLogs(opts, spec.namespace, ending.pods, logger);
    watching.abort();
    const aborted = cancelReason !== undefined;
    const result = runResult({
      runId: spec.runId,
      exitCode: ending.exitCode,
      verdict: aborted ? 'aborted' : ending.verdict,
      reason: aborted ? canceledReason(run.kind, cancelReason!) : ending.reason,
      durationMs: opts.clock.now() - startedAt,
      cancelReason,
      output,
      summary,
    });
    if (aborted) return result;
    if (spec.keepForMs === undefined) await deleteRunObject(opts.kube, run.path, logger);
    else {
      const keep = { keepForMs: spec.keepForMs, now: opts.clock.now() };
      const signed = { signer: opts.signer, namespace: spec.namespace, name: run.name };
      await recordVerdict(opts.kube, run.path, result, { ...keep, ...signed }, logger);
    }
    return result;
  })();

  return {
    runId: spec.runId,
    startedAt,
    started: started.promise,
    result,
    cancel,
    output: () => live?.text() ?? '',
  };
}

function canceledReason(kind: string, reason: CancelReason): string {
  if (reason === 'shutdown')
    return `k6gate shut down; the ${kind} goes on and a retry attaches to it`;
  return `canceled (${reason}); the ${kind} was deleted`;
}

function stuckReason(stuck: string | undefined): { stuck?: string } {
  return stuck ? { stuck } : {};
}

interface WatchHooks {
  started(): void;
  /** A runner pod (by its index) is running. */
  running(pod: string, index: number): void;
  ended(e: Ending): void;
  aborted(): boolean;
  logger: Logger;
}

// Follows every pod of the run; `state` tells what held the start up and how a helper pod ended.
function watchPods(
  run: PodRun,
  spec: RunSpec,
  opts: PodRunnerOptions,
  signal: AbortSignal,
  hooks: WatchHooks,
) {
  const state: { stuck?: string; helperEnded?: string } = {};
  const live = new Set<number>();
  const outcomes = new Map<number, PodOutcome>();
  const selector = labelSelector({ [LABEL.runId]: run.runLabel });
  const path = `${COLLECTION.pods(spec.namespace)}?watch=1&labelSelector=${selector}`;
  void (async () => {
    try {
      for await (const ev of watchAlways<Pod>(opts.kube, path, signal, opts.watchSeconds)) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED' && hooks.aborted()) return hooks.ended(ABORTED);
        const seen = readPod(ev.object);
        if (seen.waiting) state.stuck = seen.waiting;
        const index = run.runnerIndex(ev.object);
        if (index === undefined) {
          const e = seen.ended;
          if (e && e.exitCode !== 0)
            state.helperEnded = `pod ${e.pod} exited ${e.exitCode} (${e.reason})`;
          continue;
        }
        if (seen.running) {
          live.add(index);
          hooks.running(ev.object.metadata.name, index);
        }
        if (seen.ended) outcomes.set(index, seen.ended);
        if (new Set([...live, ...outcomes.keys()]).size >= run.runners) hooks.started();
        if (outcomes.size >= run.runners) return hooks.ended(combine(outcomes, run.runners));
      }
    } catch (err) {
      if (!signal.aborted) hooks.logger.warn('watching the runner pods failed', { err });
    }
  })();
  return state;
}

/** One runner: its own outcome. Several: passed only if every runner passed; otherwise the
 * first failing runner gives the verdict and exit code, and every failing runner is named. */
function combine(outcomes: Map<number, PodOutcome>, runners: number): Ending {
  const ordered = [...outcomes.entries()].sort(([a], [b]) => a - b);
  const pods = ordered.map(([, o]) => o.pod);
  if (runners === 1) {
    const only = ordered[0]![1];
    return { exitCode: only.exitCode, verdict: only.verdict, reason: only.reason, pods };
  }
  const failing = ordered.filter(([, o]) => o.verdict !== 'passed');
  if (failing.length === 0) {
    return { exitCode: 0, verdict: 'passed', reason: `all ${runners} runners passed`, pods };
  }
  const [, first] = failing[0]!;
  const reason = failing
    .map(([i, o]) => `runner ${i} of ${runners} (pod ${o.pod}): ${o.reason}`)
    .join('; ');
  return { exitCode: first.exitCode, verdict: first.verdict, reason, pods };
}

// Every runner's output — with several, their merged summary first, then each under a header —
// and their numbers as a summary export (compare rules, the runs API).
// --max-output-bytes is shared between the runners: each log's end (its summary) within its share.
async function readLogs(
  opts: Pick<PodRunnerOptions, 'kube' | 'maxOutputBytes'>,
  ns: string,
  pods: string[],
  logger: Logger,
) {
  const share = Math.max(MIN_LOG_SHARE, Math.floor(opts.maxOutputBytes / Math.max(1, pods.length)));
  const logs = await Promise.all(pods.map((p) => readLog(opts.kube, ns, p, logger, share)));
  const summary = summaryOfRunners(logs);
  if (logs.length === 1) return { output: logs[0]!, summary };
  const merged = mergeSummaries(logs);
  const each = logs.map((log, i) => `── runner ${i + 1} (pod ${pods[i]}) ──\n${log}`);
  return { output: [...(merged ? [merged] : []), ...each].join('\n'), summary };
}
