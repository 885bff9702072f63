// What the benches share: the Go original built from its Go module, a free loopback port, a
// daemon (k6gate or the original) started on a private k6, and a process's resident memory.

import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dir, '..');

/** Builds (or finds in the cache) the Go original; its binary's path. */
export function buildOriginal(): string {
  const out = Bun.spawnSync(['bash', join(REPO, 'bench/build-original.sh')], {
    stderr: 'inherit',
  });
  if (out.exitCode !== 0) throw new Error('building the Go original failed');
  return out.stdout.toString().trim();
}

export async function freePort(): Promise<number> {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

/** The k6 contract double compiled to one executable (cached; test/fixtures/build-k6-double.sh):
 * what the benches spawn. The script form runs under `sh` and Bun's transpiler, whose cache lives
 * in $HOME: k6gate gives each run a fresh HOME, so every run would transpile the double again, a
 * cost of the double (about 1.5 ms here) that a real k6 never has and the floor never paid. */
export function compiledDouble(): string {
  const out = Bun.spawnSync(['sh', join(REPO, 'test/fixtures/build-k6-double.sh')], {
    stderr: 'inherit',
  });
  if (out.exitCode !== 0) throw new Error('cannot build the k6 double');
  return out.stdout.toString().trim();
}

/** The lower median (NaN for none). */
export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;

/** A process's resident memory, or one part of it (`RssAnon`: heap and stacks; the rest is
 * the binary's pages), from /proc/<pid>/status. */
export function rssKiB(pid: number, field: 'VmRSS' | 'RssAnon' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
}

/**
 * Writes a binary back and drops its pages from the page cache (`sync`, then `dd iflag=nocache`,
 * which is posix_fadvise DONTNEED; no root needed), once per binary per bench. A binary built
 * minutes ago sits in the page cache as it was written, and a process mapping it counts about
 * 5 MiB more file-backed RSS than the same bytes read back from disk (measured on this machine:
 * k6gate idle 40.8 vs 35.7 MiB, one binary, before and after). Without this, a fresh k6gate
 * build is measured against an original built days ago and the RSS ratio favours the original.
 */
export function settleBinary(path: string): void {
  if (settled.has(path)) return;
  settled.add(path);
  Bun.spawnSync(['sync', path]);
  Bun.spawnSync(['dd', `if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
}
const settled = new Set<string>();

export interface BenchDaemon {
  name: string;
  url: string;
  pid: number;
  tmp: string;
  startMs: number;
  stop(): Promise<void>;
}

/** A private PATH directory whose `k6` is the given child. */
function childBin(child: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-bench-bin-'));
  symlinkSync(child, join(dir, 'k6'));
  return dir;
}

async function waitHealthy(url: string, timeoutMs = 10_000): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(2);
  }
  throw new Error(`${url} not healthy in ${timeoutMs} ms`);
}

/** A daemon on a free port, its `k6` the given child on a private PATH: a k6gate binary
 * (`kind: 'k6gate'`) or the Go original; `startMs` is the time to its first healthy answer. */
export async function startBenchDaemon(opts: {
  name: string;
  kind: 'k6gate' | 'original';
  binary: string;
  child: string;
  slots: number;
  env?: Record<string, string>;
}): Promise<BenchDaemon> {
  settleBinary(opts.binary);
  const port = await freePort();
  const tmp = mkdtempSync(join(tmpdir(), `k6gate-bench-${opts.name}-`));
  const bin = childBin(opts.child);
  const env = {
    PATH: `${bin}:${process.env.PATH}`,
    TMPDIR: tmp,
    // Both daemons quiet by default; BENCH_LOG_LEVEL=info measures them as shipped.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    MAX_CONCURRENT_TESTS: String(opts.slots),
    ...opts.env,
  };
  const t0 = performance.now();
  const proc =
    opts.kind === 'k6gate'
      ? Bun.spawn([opts.binary, 'serve', '--host', '127.0.0.1', '--listen-port', String(port)], {
          env: { ...env, TEMP_DIR: tmp, K6_BINARY: 'k6' },
          stdout: 'ignore',
          stderr: 'ignore',
        })
      : Bun.spawn([opts.binary], {
          env: { ...env, LISTEN_PORT: String(port) },
          stdout: 'ignore',
          stderr: 'ignore',
        });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url);
  return {
    name: opts.name,
    url,
    pid: proc.pid,
    tmp,
    startMs: performance.now() - t0,
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await proc.exited;
      clearTimeout(timer);
      // Children the original left behind (it SIGKILLs only the k6 pid) must not leak here.
      Bun.spawnSync(['pkill', '-KILL', '-f', tmp]);
      rmSync(tmp, { recursive: true, force: true });
      rmSync(bin, { recursive: true, force: true });
    },
  };
}

/** A floor (bench/floors/<name>.ts) compiled with k6gate's flags (all but the bytecode-order
 * profile, which is k6gate's own) into a temp dir. */
export function compileFloor(name: string, outDir: string): string {
  const out = join(outDir, name);
  const built = Bun.spawnSync(
    [
      join(REPO, 'node_modules/.bin/bun'),
      'build',
      join(REPO, 'bench/floors', `${name}.ts`),
      '--compile',
      '--minify',
      '--bytecode',
      '--format',
      'esm',
      '--no-compile-autoload-dotenv',
      '--no-compile-autoload-bunfig',
      '--compile-jit-policy=8', // reset by each floor once it listens, as k6gate serve does
      '--outfile',
      out,
    ],
    { cwd: REPO, stdout: 'ignore' },
  );
  if (built.exitCode !== 0)
    throw new Error(`cannot compile floor ${name}: ${built.stderr.toString()}`);
  return out;
}
