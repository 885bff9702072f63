// Starting k6gate for tests: in-process on a real socket (port 0), or as a child process
// (the compiled binary, or src/main.ts under Bun) whose bound URL is read from its
// "listening" log line. Every start registers its own cleanup.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClientDirectory } from '../../src/auth/clients.ts';
import { createLogger, type LogLevel } from '../../src/core/log.ts';
import type { Notifier } from '../../src/notify/notifier.ts';
import type { KubeTransport } from '../../src/kube/client.ts';
import type { SecretSource } from '../../src/kube/secret-source.ts';
import type { Runner } from '../../src/runners/runner.ts';
import { configFrom } from './config.ts';
import { unconfiguredSecretSource } from '../../src/kube/secrets.ts';
import { createNoopNotifier } from '../../src/notify/noop.ts';
import { listenOptions, serveApp } from '../../src/http/app.ts';
import { buildDaemon } from '../../src/compose/daemon.ts';
import type { Clock } from '../../src/core/clock.ts';
import type { Store } from '../../src/store/store.ts';
import type { RunCgroups } from '../../src/os/cgroup.ts';
import { createPodRunners, createRunSigner } from '../../src/runners/pods/pod-runners.ts';

export const REPO = resolve(import.meta.dir, '../..');
const BUN = join(REPO, 'node_modules/.bin/bun');
export const COMPILED = join(REPO, 'dist/k6gate');
export const K6_DOUBLE = join(REPO, 'test/fixtures/bin/k6');

interface LogRecord {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** Captures log records in memory (for assertions) and optionally echoes them. */
export function createCapturingLogger(level: LogLevel = 'debug') {
  const records: LogRecord[] = [];
  const lines: string[] = [];
  const logger = createLogger({
    level,
    format: 'json',
    write: (line: string) => {
      lines.push(line);
      records.push(JSON.parse(line) as LogRecord);
      if (process.env.K6GATE_TEST_LOGS) process.stderr.write(line);
    },
  });
  return { logger, records, lines };
}

export interface InProcessOptions {
  args?: string[];
  env?: Record<string, string>;
  notifier?: Notifier;
  secrets?: SecretSource;
  runner?: Runner;
  clients?: ClientDirectory;
  kube?: KubeTransport;
  podWatchSeconds?: number;
  clock?: Clock;
  version?: string;
  store?: Store;
  runCgroups?: RunCgroups;
}

/** The one test-daemon builder: the daemon built by the same composition as `k6gate serve`
 * (compose/daemon.ts), from flags, with test parts where given (a scripted runner, a manual
 * clock, a Kubernetes transport with the pod runners) and a capturing logger. */
/** The run-signing key every test daemon shares, as replicas sharing the chart's Secret do. */
const TEST_SIGNING_KEY = Buffer.from('k6gate-test-run-signing-key-0123456789abcdef');

export function buildTestDaemon(opts: InProcessOptions = {}) {
  const config = configFrom(
    ['--k6-binary', K6_DOUBLE, ...openTenancy(opts), ...(opts.args ?? [])],
    {
      PATH: process.env.PATH ?? '',
      ...opts.env,
    },
  );
  const { logger, records, lines } = createCapturingLogger();
  const daemon = buildDaemon({
    config,
    logger,
    notifier: opts.notifier ?? createNoopNotifier(logger),
    secrets: opts.secrets ?? unconfiguredSecretSource,
    daemonEnv: { PATH: process.env.PATH ?? '', ...opts.env },
    version: opts.version ?? 'test',
    ...(opts.runner ? { runner: opts.runner } : {}),
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.kube
      ? {
          kube: opts.kube,
          podRunners: { createPodRunners, createRunSigner },
          runSigningKey: TEST_SIGNING_KEY,
        }
      : {}),
    ...(opts.podWatchSeconds ? { podWatchSeconds: opts.podWatchSeconds } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.runCgroups ? { runCgroups: opts.runCgroups } : {}),
  });
  return { daemon, config, logger, records, lines };
}

// A test daemon with a cluster may use every runner (local runs with kubernetes_secrets, pod
// runs) and set any runner pod label or annotation (kwok's stages are driven by them), unless
// its flags choose a policy: the defaults have their own tests (unit and kube tenant-policy).
function openTenancy(opts: InProcessOptions): string[] {
  const args = opts.args ?? [];
  const chosen = args.includes('--runners-allowed') || opts.env?.RUNNERS_ALLOWED !== undefined;
  if (!opts.kube || chosen) return [];
  return [
    '--runners-allowed',
    'local,job,k6-operator',
    '--runner-label-keys-allowed',
    '*',
    '--runner-annotation-keys-allowed',
    '*',
  ];
}

/** The daemon built by buildTestDaemon, listening on 127.0.0.1:0. */
export function startInProcess(opts: InProcessOptions = {}) {
  const args = ['--host', '127.0.0.1', '--listen-port', '0', ...(opts.args ?? [])];
  const { daemon, config, records, lines } = buildTestDaemon({ ...opts, args });
  const server = serveApp(daemon.app, listenOptions(config));
  const url = `http://127.0.0.1:${server.port}`;
  return {
    url,
    config,
    daemon,
    records,
    lines,
    async close() {
      await daemon.registry.shutdown();
      await server.stop(true);
    },
    /** `await using d = startInProcess()` closes it at the end of the block. */
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

export interface ChildDaemon {
  url: string;
  pid: number;
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>;
  logs: LogRecord[];
  /** Waits for a log record matching the predicate. */
  waitForLog(match: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  stop(signal?: NodeJS.Signals): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Runs k6gate as a child process: the compiled binary when built, else `bun src/main.ts`. */
export async function startChildDaemon(opts: {
  args?: string[];
  env?: Record<string, string>;
  compiled?: boolean;
  /** Another compiled binary than dist/k6gate (e.g. the arm64 release binary). */
  binary?: string;
  /** A command the daemon runs under (e.g. `unshare --pid --fork` to make it PID 1). */
  wrap?: string[];
}): Promise<ChildDaemon> {
  const useCompiled = opts.compiled ?? existsSync(COMPILED);
  if (opts.compiled && !existsSync(COMPILED))
    throw new Error(`${COMPILED} not built: run make build`);
  const argv = opts.binary
    ? [opts.binary]
    : useCompiled
      ? [COMPILED]
      : [BUN, join(REPO, 'src/main.ts')];
  const proc = Bun.spawn(
    [
      ...(opts.wrap ?? []),
      ...argv,
      'serve',
      '--host',
      '127.0.0.1',
      '--listen-port',
      '0',
      '--log-format',
      'json',
      ...(opts.args ?? []),
    ],
    {
      env: { PATH: process.env.PATH ?? '', K6_BINARY: K6_DOUBLE, ...opts.env },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    },
  );
  const logs: LogRecord[] = [];
  const waiters = new Set<() => void>();
  const reading = (async () => {
    const decoder = new TextDecoder();
    let carry = '';
    for await (const chunk of proc.stderr) {
      carry += decoder.decode(chunk, { stream: true });
      const parts = carry.split('\n');
      carry = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        try {
          logs.push(JSON.parse(line) as LogRecord);
        } catch {
          logs.push({ level: 'raw', msg: line });
        }
        if (process.env.K6GATE_TEST_LOGS) process.stderr.write(`${line}\n`);
      }
      for (const w of waiters) w();
    }
  })();
  const waitForLog = (match: (r: LogRecord) => boolean, timeoutMs = 10_000) =>
    new Promise<LogRecord>((resolvePromise, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          clearTimeout(timer);
          waiters.delete(check);
          resolvePromise(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `log line not seen in ${timeoutMs} ms; logs: ${JSON.stringify(logs.slice(-10))}`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const listening = await waitForLog((r) => r.msg === 'listening', 15_000);
  // Resolves once the daemon exited and its last log lines were read (a check of what it
  // logged at shutdown must not race the pipe; 2 s at most, should anything hold it open).
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const code = await proc.exited;
    await Promise.race([reading, Bun.sleep(2000)]);
    return code;
  };
  return {
    url: String(listening.url),
    pid: proc.pid,
    proc,
    logs,
    waitForLog,
    stop,
    /** `await using d = await startChildDaemon(…)` stops it (SIGTERM) at the end of the block. */
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** A Flagger-shaped webhook body. */
export function flaggerPayload(
  metadata: Record<string, string>,
  over: Partial<{ name: string; namespace: string; phase: string; checksum: string }> = {},
) {
  return {
    name: over.name ?? 'podinfo',
    namespace: over.namespace ?? 'test',
    phase: over.phase ?? 'Progressing',
    checksum: over.checksum ?? '85d557f47b',
    metadata,
  };
}

export function postLaunch(url: string, body: unknown, init: RequestInit = {}) {
  return fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

/** Polls until the condition holds, or fails after the timeout. */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`condition not met in ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}

/** Flagger's analysis loop calling a rollout hook: one call per interval (a second here) until
 * an answer other than 202, at most `max` calls. */
export async function analysisLoop(url: string, body: object, max = 60) {
  const answers: { status: number; first: string; text: string }[] = [];
  for (let i = 0; i < max; i++) {
    const res = await postLaunch(url, body);
    const text = await res.text();
    answers.push({ status: res.status, first: text.split('\n')[0] ?? '', text });
    if (res.status !== 202) break;
    await Bun.sleep(1000);
  }
  return answers;
}
