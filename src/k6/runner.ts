// The k6 runner seam and its local implementation: one supervised `k6 run` child per test.
// Each child gets its own temp directory and process group, is stopped with SIGTERM then
// SIGKILL after a grace period, is awaited exactly once, and its directory is always removed.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { TestFailed } from '../errors.ts';
import type { Logger } from '../log.ts';
import { openOutputLog, type OutputLog, type OutputSnapshot } from '../supervise/output-log.ts';
import { buildChildEnv, buildK6Args } from './child-env.ts';
import { explainExitCode, K6_EXIT, type Verdict } from './exit-codes.ts';
import { hasStartedBanner, parseCloudUrl, parseCrossedThresholds } from './output.ts';

export type CancelReason =
  'timeout' | 'client-gone' | 'shutdown' | 'start-timeout' | 'cloud-url-missing';

export interface RunSpec {
  runId: string;
  /** `namespace/name`, for logs. */
  canary: string;
  /** File name of the script inside the run directory (k6 Cloud uses it as the test name). */
  scriptName: string;
  script: string;
  uploadToCloud: boolean;
  envVars: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
}

export type StartOutcome =
  { kind: 'started'; cloudUrl: string | undefined } | { kind: 'exited' } | { kind: 'timeout' };

export interface RunResult {
  runId: string;
  exitCode: number | null;
  signal: string | null;
  verdict: Verdict;
  /** One line: why the run passed or failed. */
  reason: string;
  durationMs: number;
  timedOut: boolean;
  canceled: boolean;
  cancelReason: CancelReason | undefined;
  forceKilled: boolean;
  thresholds: string[];
  output: string;
  truncated: boolean;
  outputBytes: number;
}

export interface RunHandle {
  readonly runId: string;
  readonly pid: number;
  readonly startedAt: number;
  /** Settles when k6 printed its banner, exited, or the start timeout passed, whichever first. */
  readonly started: Promise<StartOutcome>;
  /** Settles once, after the child was reaped and its directory removed. Never rejects. */
  readonly result: Promise<RunResult>;
  /** Stops the run (SIGTERM, then SIGKILL after the grace). The first reason wins. */
  cancel(reason: CancelReason): void;
  /** The output so far, bounded. */
  snapshot(): OutputSnapshot;
}

export interface K6Runner {
  /** Spawns k6; throws TestFailed('error while launching test: …') when it cannot. */
  start(spec: RunSpec): Promise<RunHandle>;
}

export interface LocalRunnerOptions {
  k6Binary: string;
  tempRoot: string;
  killGraceMs: number;
  startTimeoutMs: number;
  /** Hard deadline per run; 0 disables. */
  maxRunMs: number;
  maxOutputBytes: number;
  cloudToken: string;
  daemonEnv: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  clock: Clock;
}

const START_POLL_FIRST_MS = 5;
const START_POLL_MAX_MS = 200;
const COMPACT_POLL_MS = 1000;
const BANNER_SCAN_CHUNK = 256 * 1024;

export function createLocalRunner(opts: LocalRunnerOptions): K6Runner {
  // Resolved once on PATH; looked up again after a spawn failure (k6 installed or moved).
  let binary: string | undefined;
  const resolveBinary = () =>
    (binary ??= Bun.which(opts.k6Binary, { PATH: opts.daemonEnv.PATH ?? '' }) ?? undefined);
  return {
    async start(spec) {
      const dir = await mkdtemp(join(opts.tempRoot, 'k6gate-run-')).catch((err: Error) => {
        throw new TestFailed(
          `error while launching test: cannot create a run directory: ${err.message}`,
        );
      });
      let log: OutputLog | undefined;
      try {
        const scriptPath = join(dir, spec.scriptName);
        await writeFile(scriptPath, spec.script, { mode: 0o600 });
        log = openOutputLog(join(dir, 'output.log'), opts.maxOutputBytes);
        const env = buildChildEnv({
          daemonEnv: opts.daemonEnv,
          runDir: dir,
          uploadToCloud: spec.uploadToCloud,
          cloudToken: opts.cloudToken,
          envVars: spec.envVars,
          secrets: spec.secrets,
        });
        const binary =
          Bun.which(opts.k6Binary, { PATH: opts.daemonEnv.PATH ?? '' }) ?? opts.k6Binary;
        const proc = Bun.spawn([binary, ...buildK6Args(scriptPath, spec.uploadToCloud)], {
          cwd: dir,
          env,
          stdin: 'ignore',
          stdout: log.fd,
          stderr: log.fd,
          detached: true,
        });
        return superviseChild(proc, dir, log, spec, opts);
      } catch (err) {
        binary = undefined;
        log?.close();
        await rm(dir, { recursive: true, force: true });
        if (err instanceof TestFailed) throw err;
        const message = err instanceof Error ? err.message : String(err);
        throw new TestFailed(`error while launching test: ${message}`);
      }
    },
  };
}

function superviseChild(
  proc: Bun.Subprocess,
  dir: string,
  log: OutputLog,
  spec: RunSpec,
  opts: LocalRunnerOptions,
): RunHandle {
  const { clock } = opts;
  const startedAt = clock.now();
  const pid = proc.pid;
  const logger = opts.logger.child({ runId: spec.runId, canary: spec.canary, pid });
  let cancelReason: CancelReason | undefined;
  let forceKilled = false;
  let exited = false;
  let bannerSeen = false;
  let carry = '';
  // Once the child is reaped the log is closed: later snapshots return the last one.
  let finalOutput: OutputSnapshot | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;

  let settleStarted!: (outcome: StartOutcome) => void;
  const started = new Promise<StartOutcome>((resolve) => {
    settleStarted = resolve;
  });
  let startSettled = false;
  const settleStart = (outcome: StartOutcome) => {
    if (startSettled) return;
    startSettled = true;
    clearTimeout(startTimer);
    settleStarted(outcome);
  };

  // Reads new output until the banner shows; returns true once seen.
  const scanForBanner = (): boolean => {
    if (bannerSeen) return true;
    const fresh = log.readNew(BANNER_SCAN_CHUNK);
    if (fresh === '') return false;
    const window = carry + fresh;
    if (hasStartedBanner(window)) {
      bannerSeen = true;
      settleStart({ kind: 'started', cloudUrl: parseCloudUrl(window) ?? findCloudUrl() });
      return true;
    }
    carry = window.slice(-4096);
    return false;
  };
  const findCloudUrl = () => parseCloudUrl(log.snapshot().text);

  let pollDelay = START_POLL_FIRST_MS;
  const poll = () => {
    if (exited) return;
    try {
      log.compactIfNeeded();
      if (!scanForBanner()) {
        pollDelay = Math.min(pollDelay * 2, START_POLL_MAX_MS);
        pollTimer = setTimeout(poll, pollDelay);
        return;
      }
    } catch (err) {
      logger.warn('cannot read k6 output', { err });
    }
    pollTimer = setTimeout(poll, COMPACT_POLL_MS);
  };
  pollTimer = setTimeout(poll, 0);

  const startTimer = setTimeout(() => settleStart({ kind: 'timeout' }), opts.startTimeoutMs);
  const deadline =
    opts.maxRunMs > 0 ? setTimeout(() => cancel('timeout'), opts.maxRunMs) : undefined;

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };

  function cancel(reason: CancelReason) {
    if (exited || cancelReason !== undefined) return;
    cancelReason = reason;
    logger.info('stopping k6', { reason, signal: 'SIGTERM', graceMs: opts.killGraceMs });
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => {
      if (exited) return;
      forceKilled = true;
      logger.warn('k6 did not stop within the grace period; killing it', { signal: 'SIGKILL' });
      signalGroup('SIGKILL');
    }, opts.killGraceMs);
  }

  const result = (async (): Promise<RunResult> => {
    await proc.exited;
    exited = true;
    clearTimeout(pollTimer);
    clearTimeout(killTimer);
    clearTimeout(deadline);
    // Whatever the leader left behind in its group goes too.
    signalGroup('SIGKILL');
    try {
      if (!bannerSeen) scanForBanner();
      settleStart({ kind: 'exited' });
      const out = log.snapshot();
      finalOutput = out;
      return describeResult(spec.runId, proc, out, {
        durationMs: clock.now() - startedAt,
        cancelReason,
        forceKilled,
      });
    } finally {
      log.close();
      await rm(dir, { recursive: true, force: true }).catch((err: Error) =>
        logger.error('cannot remove run directory', { dir, err }),
      );
    }
  })();

  logger.debug('k6 started', { argv: buildK6Args(spec.scriptName, spec.uploadToCloud) });
  return {
    runId: spec.runId,
    pid,
    startedAt,
    started,
    result,
    cancel,
    snapshot: () => finalOutput ?? log.snapshot(),
  };
}

function describeResult(
  runId: string,
  proc: Bun.Subprocess,
  out: OutputSnapshot,
  run: { durationMs: number; cancelReason: CancelReason | undefined; forceKilled: boolean },
): RunResult {
  const exitCode = proc.exitCode;
  const signal = proc.signalCode === null ? null : String(proc.signalCode);
  const thresholds = parseCrossedThresholds(out.text);
  let verdict: Verdict;
  let reason: string;
  if (exitCode !== null) {
    ({ verdict, reason } = explainExitCode(exitCode));
    if (exitCode === K6_EXIT.THRESHOLDS_HAVE_FAILED && thresholds.length > 0) {
      reason = `thresholds crossed: ${thresholds.join(', ')}`;
    }
  } else {
    verdict = 'error';
    reason = `k6 was killed by ${signal ?? 'a signal'}`;
  }
  if (run.cancelReason !== undefined) {
    verdict = 'aborted';
    reason = `${CANCEL_TEXT[run.cancelReason]}${run.forceKilled ? '; killed after the grace period' : ''}`;
  }
  return {
    runId,
    exitCode,
    signal,
    verdict,
    reason,
    durationMs: run.durationMs,
    timedOut: run.cancelReason === 'timeout' || run.cancelReason === 'start-timeout',
    canceled: run.cancelReason !== undefined,
    cancelReason: run.cancelReason,
    forceKilled: run.forceKilled,
    thresholds,
    output: out.text,
    truncated: out.truncated,
    outputBytes: out.totalBytes,
  };
}

const CANCEL_TEXT: Record<CancelReason, string> = {
  timeout: 'stopped at the run deadline (max run duration)',
  'start-timeout': 'k6 did not start within the start timeout',
  'client-gone': 'canceled: the caller closed the connection',
  shutdown: 'canceled: k6gate is shutting down',
  'cloud-url-missing': 'stopped: k6 printed no k6 Cloud URL although upload_to_cloud is set',
};

/** The original's wording for a non-passing process: `exit status N` or `signal: killed`. */
export function describeExit(result: Pick<RunResult, 'exitCode' | 'signal'>): string {
  if (result.exitCode !== null) return `exit status ${result.exitCode}`;
  return result.signal === 'SIGKILL' ? 'signal: killed' : `signal: ${result.signal ?? 'unknown'}`;
}
