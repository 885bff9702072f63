// What follows a run's start: "didn't start" answers, the k6 Cloud URL check, and — once the
// verdict is known — metrics, the log line, the failure cache and the final notification.
// Slack is never on the path that decides or returns a verdict.

import { ShuttingDown, TestFailed } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Clock } from '../core/clock.ts';
import { describeComparison } from '../k6/compare.ts';
import { lastLine, lastLines } from '../k6/output.ts';
import type { Counter, Histogram } from '../core/metrics.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import type { CanaryEvent, CanaryEvents } from '../kube/canary-events.ts';
import type { Notifier, NotifyTarget } from '../notify/notifier.ts';
import {
  describeExit,
  describeFailure,
  type RunHandle,
  type RunResult,
  type StartOutcome,
} from '../runners/runner.ts';
import type { FailureCache, HookKey } from './failure-cache.ts';
import type { RunRegistry } from './run-registry.ts';
import { buildVerdictReport } from './verdict-report.ts';

export interface VerdictMetrics {
  runsTotal: Counter;
  /** By canary_namespace, canary, runner and verdict, for at most MAX_CANARY_SERIES canaries
   * (not `namespace`: Prometheus gives that label the scraped pod's namespace). */
  canaryRunsTotal: Counter;
  runDurationSeconds: Histogram;
  admissionRejections: Counter;
}

export interface StartedRun {
  req: LaunchRequest;
  handle: RunHandle;
  key: HookKey;
  logger: Logger;
  /** The k6 dashboard filtered on this run (--grafana-url with remote write). */
  dashboardUrl?: string | undefined;
  runner: RunnerKind;
}

/** Canaries with series of their own in k6gate_canary_runs_total; later ones count as _other,
 * so a cluster with thousands of canaries cannot grow /metrics without bound. */
const MAX_CANARY_SERIES = 500;

function boundedCanaries() {
  const seen = new Set<string>();
  return (req: Pick<LaunchRequest, 'namespace' | 'name'>) => {
    const key = `${req.namespace}/${req.name}`;
    if (!seen.has(key) && seen.size >= MAX_CANARY_SERIES) {
      return { canary_namespace: '_other', canary: '_other' };
    }
    seen.add(key);
    return { canary_namespace: req.namespace, canary: req.name };
  };
}

/** k6 output logged with a failed verdict: the last lines, capped in bytes. */
const LOGGED_TAIL_LINES = 40;
const LOGGED_TAIL_BYTES = 8 * 1024;

export function createFollower(deps: {
  notifier: Notifier;
  events: CanaryEvents;
  failures: FailureCache;
  registry: RunRegistry;
  metrics: VerdictMetrics;
  clock: Clock;
  /** A "still running" log line this often (--progress-interval); 0 disables. */
  progressIntervalMs: number;
}) {
  const canaries = boundedCanaries();
  function observe(run: StartedRun, result: RunResult) {
    deps.metrics.runsTotal.inc({ verdict: result.verdict });
    deps.metrics.canaryRunsTotal.inc({
      ...canaries(run.req),
      runner: run.runner,
      verdict: result.verdict,
    });
    deps.metrics.runDurationSeconds.observe(result.durationMs / 1000, { verdict: result.verdict });
  }

  // Stops a run the answer will not wait for; its verdict still reaches the metrics.
  function abandon(run: StartedRun, reason: 'start-timeout' | 'cloud-url-missing') {
    run.handle.cancel(reason);
    deps.registry.trackTask(run.handle.result.then((result) => observe(run, result)));
  }

  // k6 exited before its banner, or never showed it in time: the original's "didn't start".
  async function failToStart(
    run: StartedRun,
    start: Exclude<StartOutcome, { kind: 'started' }>,
  ): Promise<never> {
    let message = `error while waiting for test to start: timeout${start.kind === 'timeout' && start.stuck ? ` (${start.stuck})` : ''}`;
    let output: string;
    let details: object | undefined;
    if (start.kind === 'timeout') {
      abandon(run, 'start-timeout');
      output = run.handle.output();
    } else {
      const result = await run.handle.result;
      if (result.cancelReason === 'shutdown') throw new ShuttingDown();
      observe(run, result);
      output = result.output;
      details = buildVerdictReport(result, run);
      // A pod run that ended without any k6 exit (a TestRun in stage error) says why itself.
      message =
        result.exitCode === null && result.signal === null
          ? `error while waiting for test to start: ${result.reason}`
          : `error while waiting for test to start: k6 exited before starting (${describeExit(result)}: ${result.reason})`;
    }
    deps.failures.recordFailure(run.key);
    run.logger.warn(message, { outputTail: tailForLog(output) });
    deps.registry.trackTask(deps.events.record(canaryEvent(run, 'LoadTestFailed', message)));
    deps.registry.trackTask(deps.notifier.didNotStart(notifyTarget(run.req), output));
    throw new TestFailed(message, output, details);
  }

  return {
    /** The k6 Cloud URL when the run started as it should; throws TestFailed otherwise. */
    async checkStart(run: StartedRun, start: StartOutcome): Promise<string | undefined> {
      if (start.kind !== 'started') return failToStart(run, start);
      if (run.req.uploadToCloud && start.cloudUrl === undefined) {
        abandon(run, 'cloud-url-missing');
        deps.failures.recordFailure(run.key);
        run.logger.warn("couldn't find the cloud URL in the output");
        throw new TestFailed("couldn't find the cloud URL in the output", run.handle.output());
      }
      if (start.cloudUrl) run.logger.info('cloud run URL', { cloudUrl: start.cloudUrl });
      return start.cloudUrl;
    },

    /** Announces the run and, in the background, reports its verdict. */
    follow(run: StartedRun, cloudUrl: string | undefined) {
      if (run.handle.replayed) return; // reported by the replica that watched the run
      reportProgress(run, deps.progressIntervalMs, deps.clock);
      const target = { ...notifyTarget(run.req, cloudUrl), dashboardUrl: run.dashboardUrl };
      const threads = deps.notifier.started(target);
      const report = run.handle.result.then(async (result) => {
        observe(run, result);
        logVerdict(run, result);
        if (result.verdict !== 'passed' && result.cancelReason !== 'shutdown') {
          deps.failures.recordFailure(run.key);
        }
        if (result.cancelReason !== 'shutdown') {
          const passed = result.verdict === 'passed';
          const said = passed ? result.reason : describeFailure(result);
          const reason = passed ? 'LoadTestPassed' : 'LoadTestFailed';
          deps.registry.trackTask(deps.events.record(canaryEvent(run, reason, said)));
        }
        const outcome = {
          verdict: result.verdict === 'passed' ? ('succeeded' as const) : ('failed' as const),
          reason: result.reason,
          durationMs: result.durationMs,
          phase: run.req.phase,
          comparison: result.comparison && describeComparison(result.comparison),
        };
        await deps.notifier.finished(target, await threads, outcome, result.output);
      });
      deps.registry.trackTask(report);
    },
  };
}

/** A log line every `intervalMs` while the run goes on: elapsed time and k6's last line (its
 * progress), so a held run is not silent for minutes. 0 disables. */
function reportProgress(run: StartedRun, intervalMs: number, clock: Clock) {
  if (intervalMs <= 0) return;
  const timer = setInterval(() => {
    const last = lastLine(run.handle.output());
    run.logger.info('still running', {
      elapsedSeconds: Math.round((clock.now() - run.handle.startedAt) / 1000),
      progress: last.slice(0, 300),
    });
  }, intervalMs);
  timer.unref();
  void run.handle.result.finally(() => clearInterval(timer));
}

function logVerdict(run: StartedRun, result: RunResult) {
  const fields = {
    verdict: result.verdict,
    reason: result.reason,
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: result.durationMs,
    outputBytes: result.outputBytes,
    truncated: result.truncated,
  };
  const what = `the load test for ${run.req.name}.${run.req.namespace}`;
  if (result.verdict === 'passed') run.logger.info(`${what} succeeded!`, fields);
  else run.logger.warn(`${what} failed`, { ...fields, outputTail: tailForLog(result.output) });
}

// A verdict as an Event on the Canary: the phase, the run and the one-line reason.
function canaryEvent(
  run: StartedRun,
  reason: 'LoadTestPassed' | 'LoadTestFailed',
  said: string,
): CanaryEvent {
  return {
    namespace: run.req.namespace,
    name: run.req.name,
    type: reason === 'LoadTestPassed' ? 'Normal' : 'Warning',
    reason,
    message: `load test of phase ${run.req.phase} (run ${run.handle.runId}): ${said}`,
  };
}

function notifyTarget(req: LaunchRequest, cloudUrl?: string): NotifyTarget {
  return {
    channels: req.slackChannels,
    name: req.name,
    namespace: req.namespace,
    context: req.notificationContext,
    ...(cloudUrl ? { cloudUrl } : {}),
  };
}

/** The last lines of output for a log record, never more than LOGGED_TAIL_BYTES. */
export function tailForLog(text: string): string {
  const lines = lastLines(text, LOGGED_TAIL_LINES).join('\n');
  const bytes = Buffer.from(lines);
  if (bytes.byteLength <= LOGGED_TAIL_BYTES) return lines;
  return `[…] ${bytes.subarray(bytes.byteLength - LOGGED_TAIL_BYTES).toString('utf8')}`;
}
