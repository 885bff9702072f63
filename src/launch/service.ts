// The launch service: admission (failure cache → draining → semaphore), secrets, the k6 run,
// notifications and the verdict. Plain TypeScript: the HTTP layer only decodes and renders.

import type { Clock } from '../clock.ts';
import { Busy, K6gateError, RecentFailure, ShuttingDown, TestFailed } from '../errors.ts';
import type { LaunchRequest, SecretRefSpec } from '../flagger/payload.ts';
import { describeExit, type K6Runner, type RunHandle, type RunResult } from '../k6/runner.ts';
import type { Logger } from '../log.ts';
import type { Counter, Histogram } from '../metrics.ts';
import type { Notifier, NotifyTarget, NotifyThreads } from '../notify/notifier.ts';
import type { FailureCache } from '../supervise/failure-cache.ts';
import { estimateRetryAfterSeconds, type RunRegistry } from '../supervise/registry.ts';
import type { Semaphore } from '../supervise/semaphore.ts';

export interface SecretResolver {
  resolve(refs: SecretRefSpec[], signal?: AbortSignal): Promise<Record<string, string>>;
}

export interface LaunchMetrics {
  runsTotal: Counter;
  runDurationSeconds: Histogram;
  admissionRejections: Counter;
}

export interface LaunchDeps {
  runner: K6Runner;
  notifier: Notifier;
  secrets: SecretResolver;
  semaphore: Semaphore;
  failures: FailureCache;
  registry: RunRegistry;
  clock: Clock;
  metrics: LaunchMetrics;
  newRunId: () => string;
}

export interface LaunchContext {
  requestId: string;
  /** Aborts when the caller goes away. */
  signal: AbortSignal;
  logger: Logger;
}

export interface LaunchOutcome {
  runId: string;
  /** The body of the 200 answer: k6's output for waited runs, empty for async ones. */
  body: string;
}

/** Lines of k6 output logged with a failed verdict, so the reason is in the logs (#43). */
const LOGGED_OUTPUT_LINES = 40;

export interface LaunchService {
  launch(req: LaunchRequest, ctx: LaunchContext): Promise<LaunchOutcome>;
}

export function createLaunchService(deps: LaunchDeps): LaunchService {
  const { failures, registry, clock, metrics } = deps;

  // Saturated daemons answer 429s in floods: estimate Retry-After at most once a second.
  let retryAfterCache = { at: Number.NEGATIVE_INFINITY, seconds: 0 };
  const retryAfter = () => {
    const now = clock.now();
    if (now - retryAfterCache.at >= 1000) {
      const seconds = estimateRetryAfterSeconds(
        registry.running(),
        registry.recentDurationsMs(),
        now,
      );
      retryAfterCache = { at: now, seconds };
    }
    return retryAfterCache.seconds;
  };

  function admit(req: LaunchRequest) {
    const key = { namespace: req.namespace, name: req.name, phase: req.phase };
    const remaining = failures.remainingMs(key, req.minFailureDelayMs);
    if (remaining > 0) {
      failures.recordFailure(key); // the original's sliding window
      metrics.admissionRejections.inc({ reason: 'recent_failure' });
      throw new RecentFailure(Math.ceil(remaining / 1000));
    }
    if (registry.draining) throw new ShuttingDown();
    const slot = deps.semaphore.tryAcquire();
    if (!slot) {
      metrics.admissionRejections.inc({ reason: 'busy' });
      throw new Busy(retryAfter());
    }
    return { key, slot };
  }

  return {
    async launch(req, ctx) {
      const { key, slot } = admit(req);
      const logger = ctx.logger;
      const recordFailure = () => failures.recordFailure(key);
      let handle: RunHandle;
      try {
        logger.info('fetching secrets (if any)', { secrets: req.secretRefs.length });
        const secrets = await deps.secrets.resolve(req.secretRefs, ctx.signal);
        handle = await deps.runner.start({
          runId: deps.newRunId(),
          canary: `${req.namespace}/${req.name}`,
          scriptName: scriptFileName(req),
          script: req.script,
          uploadToCloud: req.uploadToCloud,
          envVars: req.envVars,
          secrets,
        });
      } catch (err) {
        slot.release();
        // A 4xx about this canary counts as a failure; an unreachable dependency (5xx) does not.
        if (err instanceof K6gateError && err.status < 500) recordFailure();
        throw err;
      }
      handle.result.then(() => slot.release());
      registry.track(handle, {
        runId: handle.runId,
        requestId: ctx.requestId,
        namespace: req.namespace,
        name: req.name,
        phase: req.phase,
        mode: req.waitForResults ? 'wait' : 'async',
        pid: handle.pid,
        startedAt: handle.startedAt,
      });
      const runLogger = logger.child({ runId: handle.runId, pid: handle.pid });
      runLogger.info('launched k6', { upload: req.uploadToCloud, wait: req.waitForResults });

      // A caller that goes away before k6 started (or, for waited runs, before the verdict)
      // cancels the run.
      const onClientGone = () => handle.cancel('client-gone');
      const stopListening = () => ctx.signal.removeEventListener('abort', onClientGone);
      ctx.signal.addEventListener('abort', onClientGone, { once: true });
      if (ctx.signal.aborted) onClientGone();
      const target: NotifyTarget = {
        channels: req.slackChannels,
        name: req.name,
        namespace: req.namespace,
        context: req.notificationContext,
      };

      const start = await handle.started;
      if (!req.waitForResults || start.kind !== 'started') stopListening();
      if (start.kind !== 'started') {
        return failToStart(handle, start.kind, target, runLogger, recordFailure);
      }
      if (req.uploadToCloud && start.cloudUrl === undefined) {
        stopListening();
        abandon(handle, 'cloud-url-missing');
        recordFailure();
        runLogger.warn("couldn't find the cloud URL in the output");
        throw new TestFailed("couldn't find the cloud URL in the output", handle.snapshot().text);
      }
      if (start.cloudUrl) runLogger.info('cloud run URL', { cloudUrl: start.cloudUrl });
      target.context = [req.notificationContext, start.cloudUrl && `Cloud URL: <${start.cloudUrl}>`]
        .filter(Boolean)
        .join('\n');
      const threads = deps.notifier.started(target);

      const finish = handle.result.then((result) =>
        concludeRun(result, { req, target, threads, logger: runLogger, recordFailure }),
      );
      registry.trackTask(finish);
      if (!req.waitForResults) {
        runLogger.info(`the load test for ${req.name}.${req.namespace} was launched successfully!`);
        return { runId: handle.runId, body: '' };
      }

      runLogger.info('waiting for the results');
      const result = await handle.result;
      stopListening();
      if (result.verdict === 'passed') return { runId: handle.runId, body: result.output };
      if (result.cancelReason === 'shutdown') throw new ShuttingDown();
      throw new TestFailed(
        `failed to run: ${describeExit(result)} (${result.reason})`,
        result.output,
      );
    },
  };

  // k6 exited before its banner, or never showed it in time: the original's "didn't start".
  async function failToStart(
    handle: RunHandle,
    kind: 'exited' | 'timeout',
    target: NotifyTarget,
    logger: Logger,
    recordFailure: () => void,
  ): Promise<never> {
    let message: string;
    let output: string;
    if (kind === 'timeout') {
      abandon(handle, 'start-timeout');
      output = handle.snapshot().text;
      message = 'error while waiting for test to start: timeout';
    } else {
      const result = await handle.result;
      if (result.cancelReason === 'shutdown') throw new ShuttingDown();
      observe(result);
      output = result.output;
      message = `error while waiting for test to start: k6 exited before starting (${describeExit(result)}: ${result.reason})`;
    }
    recordFailure();
    logger.warn(message, { outputTail: tailLines(output, LOGGED_OUTPUT_LINES) });
    registry.trackTask(deps.notifier.didNotStart(target, output));
    throw new TestFailed(message, output);
  }

  // Stops a run the answer will not wait for; its verdict still reaches the metrics.
  function abandon(handle: RunHandle, reason: 'start-timeout' | 'cloud-url-missing') {
    handle.cancel(reason);
    registry.trackTask(handle.result.then(observe));
  }

  function observe(result: RunResult) {
    metrics.runsTotal.inc({ verdict: result.verdict });
    metrics.runDurationSeconds.observe(result.durationMs / 1000, { verdict: result.verdict });
  }

  // The verdict of a run that started: metrics, logs, failure cache, final notification.
  async function concludeRun(
    result: RunResult,
    run: {
      req: LaunchRequest;
      target: NotifyTarget;
      threads: Promise<NotifyThreads>;
      logger: Logger;
      recordFailure: () => void;
    },
  ) {
    observe(result);
    const fields = {
      verdict: result.verdict,
      reason: result.reason,
      exitCode: result.exitCode,
      signal: result.signal,
      durationMs: result.durationMs,
      outputBytes: result.outputBytes,
      truncated: result.truncated,
    };
    const passed = result.verdict === 'passed';
    if (passed) {
      run.logger.info(`the load test for ${run.req.name}.${run.req.namespace} succeeded!`, fields);
    } else {
      if (result.cancelReason !== 'shutdown') run.recordFailure();
      run.logger.warn(`the load test for ${run.req.name}.${run.req.namespace} failed`, {
        ...fields,
        outputTail: tailLines(result.output, LOGGED_OUTPUT_LINES),
      });
    }
    await deps.notifier.finished(
      run.target,
      await run.threads,
      passed ? 'succeeded' : 'failed',
      result.output,
    );
  }
}

/** A stable script name, so k6 Cloud groups the runs of one canary under one test name. */
function scriptFileName(req: Pick<LaunchRequest, 'namespace' | 'name'>): string {
  return `${req.namespace}-${req.name}.js`.replace(/[^A-Za-z0-9._-]/g, '_');
}

function tailLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}
