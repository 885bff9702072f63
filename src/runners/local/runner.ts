// The local runner: one supervised `k6 run` child per test, in k6gate's own process. Each child
// gets a private temp directory and its own process group; its stdout and stderr share one pipe
// read into a bounded buffer; it is stopped with SIGTERM, then SIGKILL after a grace period; it
// is awaited exactly once; whatever it left behind (group members, escaped orphans, the
// directory) is removed before its result settles. Timers end with one AbortController.

import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.ts';
import { after, delay } from '../../core/timers.ts';
import { Misconfigured, TestFailed } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { buildChildEnv, buildK6Args } from '../../k6/invocation.ts';
import { findBannerOutputLine, parseCloudUrl } from '../../k6/output.ts';
import {
  parseSummaryExport,
  SUMMARY_EXPORT_MAX_BYTES,
  type SummaryExport,
} from '../../k6/summary-export.ts';
import { fsAsync } from '../../os/fs-async.ts';
import { openPipe } from '../../os/linux.ts';
import { runNamePrefix } from '../../os/process-tag.ts';
import { createOutputBuffer } from './output-buffer.ts';
import { describeResult, type StopState } from './verdict.ts';
import type { OrphanSweeper } from './orphans.ts';
import type { RunCgroup, RunCgroups } from '../../os/cgroup.ts';
import type {
  CancelReason,
  RunHandle,
  RunResult,
  Runner,
  RunSpec,
  StartOutcome,
} from '../runner.ts';

export interface LocalRunnerOptions {
  k6Binary: string;
  tempDir: string;
  killGraceMs: number;
  startTimeoutMs: number;
  /** Hard deadline per run; 0 disables. */
  maxRunMs: number;
  maxOutputBytes: number;
  cloudToken: string;
  daemonEnv: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  clock: Clock;
  /** Set when the daemon is a child subreaper: orphans are killed as each run ends. */
  orphans?: OrphanSweeper;
  /** Set when each run can get a cgroup of its own: all of it is killed as the run ends. */
  cgroups?: RunCgroups;
}

/** @example const runner = createLocalRunner({ k6Binary: 'k6', tempDir: '/tmp', … }); */
export function createLocalRunner(opts: LocalRunnerOptions): Runner {
  return {
    async start(spec) {
      const dir = makeRunDir(opts.tempDir);
      try {
        const scriptPath = layOutScript(dir, spec);
        return superviseChild(spawnK6(opts, spec, dir, scriptPath), dir, spec, opts);
      } catch (err) {
        await (await fsAsync()).rm(dir, { recursive: true, force: true });
        if (err instanceof TestFailed || err instanceof Misconfigured) throw err;
        throw new TestFailed(
          `error while launching test: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    },
  };
}

// The run's private directory. Made and filled with synchronous calls: a few small files (the
// body limit bounds them), cheaper than the thread pool's hand-offs (bench/cpu.ts).
function makeRunDir(tempDir: string): string {
  try {
    return mkdtempSync(join(tempDir, runNamePrefix()));
  } catch (err) {
    // k6gate's own misconfiguration (a read-only or missing temp dir), not a failed test.
    throw new Misconfigured(
      `cannot create a run directory in ${tempDir}: ${(err as Error).message}; set --temp-dir / TEMP_DIR to a writable directory (the chart mounts an emptyDir at /tmp)`,
    );
  }
}

/** Writes the test's files into the run directory; returns the path k6 runs. A ConfigMap's keys
 * go in a directory of their own (beside the entry, nothing of k6gate's). */
function layOutScript(dir: string, spec: RunSpec): string {
  if (!spec.bundle) {
    const path = join(dir, spec.scriptName);
    writeFileSync(path, spec.script, { mode: 0o600 });
    return path;
  }
  const scriptDir = join(dir, 'script');
  mkdirSync(scriptDir, { mode: 0o700 });
  for (const [key, content] of Object.entries(spec.bundle.files)) {
    writeFileSync(join(scriptDir, key), content, { mode: 0o600, flag: 'wx' });
  }
  return join(scriptDir, spec.bundle.entry);
}

interface Child {
  proc: Bun.Subprocess;
  /** Read end of the pipe that holds the child's stdout and stderr, in emission order. */
  outputFd: number;
  /** The run's own cgroup once k6 is in it; undefined when it has none. */
  cgroup: Promise<RunCgroup | undefined>;
}

function spawnK6(opts: LocalRunnerOptions, spec: RunSpec, dir: string, scriptPath: string): Child {
  const path = opts.daemonEnv.PATH ?? '';
  // Looked up per spawn (a few µs), so a k6 installed or moved while running is found.
  const binary = Bun.which(opts.k6Binary, { PATH: path });
  if (!binary) {
    throw new Misconfigured(
      `k6 not found: "${opts.k6Binary}" is not an executable file or on PATH; set --k6-binary / K6_BINARY (the k6gate image ships /usr/bin/k6)`,
    );
  }
  const env = buildChildEnv({ ...opts, ...spec, path, runDir: dir });
  const summaryExport = join(dir, SUMMARY_FILE);
  const argv = [binary, ...buildK6Args(scriptPath, { ...spec, summaryExport })];
  const [readFd, writeFd] = openPipe();
  try {
    const { proc, cgroup } = spawnInCgroup(opts, spec.runId, (into) =>
      Bun.spawn(argv, {
        cwd: dir,
        env,
        stdin: 'ignore',
        stdout: writeFd,
        stderr: writeFd,
        detached: true, // own process group: pgid = pid
        ...(into ? { cgroup: into.path } : {}),
      }),
    );
    opts.orphans?.adopt(proc.pid);
    return { proc, outputFd: readFd, cgroup };
  } catch (err) {
    closeSync(readFd);
    throw err;
  } finally {
    closeSync(writeFd); // the child holds its copy; EOF comes when the last writer exits
  }
}

/** Spawns k6 into the run's cgroup, or moves it in right after where clone3 cannot start it
 * there (systemd's RestrictNamespaces=). A cgroup that cannot be joined is said once and
 * removed, and k6 runs without it (the sweeps remain). */
function spawnInCgroup(
  opts: LocalRunnerOptions,
  runId: string,
  spawn: (into?: RunCgroup) => Bun.Subprocess,
): { proc: Bun.Subprocess; cgroup: Promise<RunCgroup | undefined> } {
  const cgroup = makeCgroup(opts, runId);
  if (!cgroup) return { proc: spawn(), cgroup: Promise.resolve(undefined) };
  if (!opts.cgroups?.spawnInto) {
    const proc = spawn();
    return { proc, cgroup: enterCgroup(opts, cgroup, runId, proc.pid) };
  }
  try {
    return { proc: spawn(cgroup), cgroup: Promise.resolve(cgroup) };
  } catch (err) {
    cgroupWarning(opts, runId, err);
    void cgroup.killAll().catch(() => {}); // removes the unused cgroup
    return { proc: spawn(), cgroup: Promise.resolve(undefined) };
  }
}

// Moves k6 into the run's cgroup right after the spawn, off the event loop: a real k6 is still
// starting its runtime then (tens of milliseconds before it reads the script). A failure leaves
// the sweeps to it.
async function enterCgroup(
  opts: LocalRunnerOptions,
  cgroup: RunCgroup,
  runId: string,
  pid: number,
): Promise<RunCgroup | undefined> {
  try {
    await cgroup.add(pid);
    return cgroup;
  } catch (err) {
    // ESRCH: k6 ended before the move; nothing of it is left to contain.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') cgroupWarning(opts, runId, err);
    void cgroup.killAll().catch(() => {}); // removes the empty cgroup
    return undefined;
  }
}

// The run's own cgroup, made before k6 starts; undefined without cgroups or when it cannot be
// made (said once per run: the sweeps end what that run leaves behind). Where it can, k6 is
// spawned into it (Bun.spawn's `cgroup`: clone3 with CLONE_INTO_CGROUP) and runs there from its
// first instruction: no move after the start, which took 11 ms of a thread-pool thread here (the
// kernel's write to cgroup.procs waits for an RCU grace period) while a script could fork.
// (Bun's own fallback without clone3 writes cgroup.procs in the child before exec, which holds
// the event loop for that wait: hence the probe and the old move there.)
function makeCgroup(opts: LocalRunnerOptions, runId: string): RunCgroup | undefined {
  const cgroup = opts.cgroups?.create(runId);
  if (!(cgroup instanceof Error)) return cgroup;
  cgroupWarning(opts, runId, cgroup);
  return undefined;
}

function cgroupWarning(opts: LocalRunnerOptions, runId: string, err: unknown) {
  opts.logger.warn('cannot give the run a cgroup; sweeps end what it leaves behind', {
    runId,
    err,
  });
}

// Kills whatever is left in the run's cgroup once k6 exited, then removes the cgroup.
async function killCgroup(entered: Promise<RunCgroup | undefined>, logger: Logger) {
  const cgroup = await entered;
  if (!cgroup) return;
  try {
    const killed = await cgroup.killAll();
    if (killed > 0) logger.warn('killed the processes the run left in its cgroup', { killed });
  } catch (err) {
    logger.error('cannot end the run cgroup', { cgroup: cgroup.path, err });
  }
}

function superviseChild(
  child: Child,
  dir: string,
  spec: RunSpec,
  opts: LocalRunnerOptions,
): RunHandle {
  const { proc } = child;
  const pid = proc.pid;
  const startedAt = opts.clock.now();
  const logger = opts.logger.child({ runId: spec.runId, canary: spec.canary, pid });
  const exited = new AbortController(); // ends every timer of this run
  const started = Promise.withResolvers<StartOutcome>();
  const output = createOutputBuffer(opts.maxOutputBytes);
  const stop: StopState = { forceKilled: false };

  const banner = watchForBanner(started.resolve);
  const tap = spec.onOutput;
  const drained = readOutput(
    child.outputFd,
    output,
    tap ? (chunk) => (banner(chunk), tap(chunk)) : banner,
  );
  after(opts.startTimeoutMs, exited.signal, () => started.resolve({ kind: 'timeout' }));
  if (opts.maxRunMs > 0) after(opts.maxRunMs, exited.signal, () => cancel('timeout'));

  function cancel(reason: CancelReason) {
    if (exited.signal.aborted || stop.reason !== undefined) return;
    stop.reason = reason;
    logger.info('stopping k6', { reason, signal: 'SIGTERM', graceMs: opts.killGraceMs });
    signalGroup(pid, 'SIGTERM');
    after(opts.killGraceMs, exited.signal, () => {
      stop.forceKilled = true;
      logger.warn('k6 did not stop within the grace period; killing it', { signal: 'SIGKILL' });
      signalGroup(pid, 'SIGKILL');
    });
  }

  const result = (async (): Promise<RunResult> => {
    await proc.exited;
    opts.orphans?.release(pid);
    exited.abort();
    signalGroup(pid, 'SIGKILL'); // whatever the leader left behind in its group goes too
    await killCgroup(child.cgroup, logger); // and in its cgroup, wherever it went
    await finishOutput(drained, opts, logger);
    started.resolve({ kind: 'exited' }); // no-op when the banner came first
    return {
      ...describeResult(spec.runId, proc, output.snapshot(), {
        durationMs: opts.clock.now() - startedAt,
        ...stop,
      }),
      summary: readSummaryExport(join(dir, SUMMARY_FILE)),
    };
  })();
  // Nothing of the run writes into its directory once its processes are gone: it is removed
  // after the verdict is out (bench/README.md, "a blocking run over the floor").
  const removeDir = () =>
    fsAsync()
      .then((fs) => fs.rm(dir, { recursive: true, force: true }))
      .catch((err: unknown) => logger.error('cannot remove run directory', { dir, err }));
  const released = result.then(removeDir, removeDir);

  if (logger.enabled('debug'))
    logger.debug('k6 started', { argv: buildK6Args(spec.scriptName, spec) });
  return {
    runId: spec.runId,
    pid,
    startedAt,
    started: started.promise,
    result,
    released,
    cancel,
    output: () => output.snapshot().text,
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

// Feeds decoded output to the banner search until k6 printed its `output:` line.
function watchForBanner(resolve: (outcome: StartOutcome) => void) {
  const decoder = new TextDecoder();
  let window = '';
  let seen = false;
  return (chunk: Uint8Array) => {
    if (seen) return;
    window += decoder.decode(chunk, { stream: true });
    const line = findBannerOutputLine(window);
    if (line !== undefined) {
      seen = true;
      resolve({ kind: 'started', cloudUrl: parseCloudUrl(line) });
    } else window = window.slice(-4096);
  };
}

const DRAIN_STEP_MS = 100;

// Waits for the pipe's EOF, killing orphans that may hold it open between short waits; after
// the kill grace it stops reading (a process outside our reach still holds the pipe).
async function finishOutput(
  drained: ReturnType<typeof readOutput>,
  opts: LocalRunnerOptions,
  logger: Logger,
) {
  // The common case: the pipe closed with the run. Orphans (if any) are swept off this path.
  if (await drained.waitEof(DRAIN_STEP_MS)) {
    opts.orphans?.sweepSoon(logger);
    return;
  }
  for (let waited = DRAIN_STEP_MS; ; waited += DRAIN_STEP_MS) {
    await opts.orphans?.sweep(logger);
    if (await drained.waitEof(DRAIN_STEP_MS)) return;
    if (waited >= opts.killGraceMs) {
      logger.warn('k6 output still open after the run ended; no longer reading it');
      drained.stop();
      return;
    }
  }
}

/** Pumps the pipe into the buffer and hands each chunk to `onChunk`. Bun's own stream reads the
 * pipe without blocking (node's fs streams park a thread-pool thread in read(2) per open pipe,
 * so a few quiet runs would starve every other read); the descriptor is closed here, once. */
function readOutput(
  fd: number,
  output: { push(chunk: Uint8Array): void },
  onChunk: (c: Uint8Array) => void,
) {
  const reader = Bun.file(fd).stream().getReader();
  const eof = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        output.push(value);
        onChunk(value);
      }
    } catch {
      // Canceled, or the pipe failed: what was read is kept.
    } finally {
      closeSync(fd);
    }
  })();
  return {
    /** True once EOF came, false when `ms` passed first. */
    async waitEof(ms: number): Promise<boolean> {
      const timeout = delay(ms, false);
      const done = await Promise.race([eof.then(() => true), timeout.promise]);
      timeout.cancel();
      return done;
    },
    stop: () => void reader.cancel().catch(() => {}),
  };
}

/** k6's --summary-export, inside the run directory (removed with it). */
const SUMMARY_FILE = 'k6gate-summary.json';

// The export k6 wrote, if any: a regular file (never a link, a FIFO or a device the script put
// there; opened without following links or blocking, checked on the open descriptor) and not
// over the cap; never trusted beyond its shape.
function readSummaryExport(path: string): SummaryExport | undefined {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch {
    return undefined; // none written (or a link)
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > SUMMARY_EXPORT_MAX_BYTES) return undefined;
    const bytes = Buffer.alloc(stat.size); // read no further than the size checked
    const read = readSync(fd, bytes, 0, bytes.length, 0);
    return parseSummaryExport(bytes.toString('utf8', 0, read));
  } finally {
    closeSync(fd);
  }
}
