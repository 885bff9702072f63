// `make bench-cpu` (also part of `make bench`): the daemon's own CPU per run — utime + stime of
// the daemon process alone (children excluded), read from /proc/<pid>/stat — over RUNS waited
// runs of the same k6 (the compiled k6 double, quick pass) from CALLERS concurrent callers, for
// k6gate, the Go original, the Bun floor (bench/floors/runner.ts: a bare Bun daemon running k6
// in a private directory, nothing else) and a baseline k6gate (the previous commit, built here
// into the tool cache, the last one only, or BENCH_BASELINE=<a binary>), interleaved over
// rounds. A regression shows the day it lands. Loopback only; every loop bounded.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { doubleScript } from '../test/helpers/processes.ts';
import { buildOriginal, compileFloor, compiledDouble, median, startBenchDaemon } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const DOUBLE = compiledDouble();
const RUNS = Number(process.env.BENCH_CPU_RUNS ?? 200);
const CALLERS = 20;
const ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 2);
const TICK_MS = 1000 / 100; // USER_HZ: /proc's CPU times are in 1/100 s on Linux
const log = (msg: string) => process.stderr.write(`[bench-cpu] ${msg}\n`);
const FLOOR = 'Bun floor (bench/floors/runner.ts)';

// utime + stime of one /proc stat line, in ms (fields 14 and 15 of proc(5), after the name).
function statCpuMs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** utime + stime of `pid` alone, in ms. */
const cpuMs = (pid: number) => statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** CPU ms of each thread of `pid` by name (digits folded: `Bun Pool 3` → `Bun Pool #`). */
function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+/g, '#');
      byName.set(name, (byName.get(name) ?? 0) + statCpuMs(stat));
    } catch {
      // the thread ended while we looked
    }
  }
  return byName;
}

/** The k6gate of `rev` (default: the commit before HEAD), built once into the tool cache. */
function baseline(): { label: string; binary: string } | undefined {
  if (process.env.BENCH_BASELINE)
    return { label: 'baseline', binary: resolve(process.env.BENCH_BASELINE) };
  const rev = process.env.BENCH_BASELINE_REV ?? 'HEAD~1';
  const sha = Bun.spawnSync(['git', '-C', REPO, 'rev-parse', '--short', rev]).stdout.toString();
  if (sha.trim() === '') return undefined; // a shallow clone: no previous commit here
  const dir = join(
    process.env.K6GATE_CACHE ?? join(homedir(), '.cache/k6gate'),
    'baseline',
    sha.trim(),
  );
  const binary = join(dir, 'dist/k6gate');
  pruneBaselines(dir);
  if (!existsSync(binary)) {
    log(`building ${rev} (${sha.trim()}) into ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const sh = `git -C ${REPO} archive ${sha.trim()} | tar -x -C ${dir}`;
    if (Bun.spawnSync(['bash', '-c', sh]).exitCode !== 0) return undefined;
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    // -o: never remake node_modules there (npm ci would empty the repo's own through the link).
    const make = ['make', '-C', dir, '-o', 'node_modules/.installed', 'dist/k6gate'];
    const built = Bun.spawnSync(make, { stdout: 'ignore' });
    if (built.exitCode !== 0) return void log(`cannot build ${rev}: ${built.stderr.toString()}`);
  }
  return { label: `k6gate ${rev} (${sha.trim()})`, binary };
}

// One baseline is kept (~120 MB each: a build per benchmarked commit filled 1.1 GB); another
// is built again in seconds when asked for.
function pruneBaselines(keep: string) {
  const root = join(keep, '..');
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    if (join(root, name) !== keep) rmSync(join(root, name), { recursive: true, force: true });
  }
}

let seq = 0;
const body = () =>
  JSON.stringify({
    name: `cpu-${++seq}`,
    namespace: 'bench',
    phase: 'Progressing',
    metadata: { script: doubleScript('mode=pass duration=0s'), min_failure_delay: '0s' },
  });

// `runs` waited runs from CALLERS callers.
async function drive(url: string, name: string, runs: number) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < runs) {
        next++;
        const res = await fetch(`${url}/launch-test`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: body(),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}: ${text.slice(-300)}`);
      }
    }),
  );
}

// RUNS waited runs from CALLERS callers (after `warmup` unmeasured ones); the daemon's CPU per
// run and the wall time.
async function measure(
  kind: 'k6gate' | 'original',
  binary: string,
  name: string,
  opts: { env?: Record<string, string>; warmup?: number } = {},
) {
  const d = await startBenchDaemon({
    name,
    kind,
    binary,
    child: DOUBLE,
    slots: 1000,
    env: opts.env,
  });
  try {
    await drive(d.url, name, opts.warmup ?? 0);
    const before = cpuMs(d.pid);
    const threadsBefore = threadCpuMs(d.pid);
    const t0 = performance.now();
    await drive(d.url, name, RUNS);
    const threads = [...threadCpuMs(d.pid)].map(
      ([thread, ms]) => [thread, (ms - (threadsBefore.get(thread) ?? 0)) / RUNS] as const,
    );
    return { cpu: (cpuMs(d.pid) - before) / RUNS, wall: (performance.now() - t0) / 1000, threads };
  } finally {
    await d.stop();
  }
}

async function main() {
  const k6gate = join(REPO, 'dist/k6gate');
  const floors = mkdtempSync(join(tmpdir(), 'k6gate-bench-floors-'));
  const daemons: {
    label: string;
    kind: 'k6gate' | 'original';
    binary: string;
    opts?: Parameters<typeof measure>[3];
  }[] = [
    { label: 'k6gate', kind: 'k6gate', binary: k6gate },
    { label: 'original v0.5.7', kind: 'original', binary: buildOriginal() },
    // What the image runs: no per-run cgroups (its cgroup tree is read-only).
    {
      label: 'k6gate --run-cgroup off',
      kind: 'k6gate',
      binary: k6gate,
      opts: { env: { RUN_CGROUP: 'off' } },
    },
    // A daemon that has served a while: JavaScriptCore's JIT has compiled the hot paths (a Go
    // binary starts compiled); what a busy cluster pays run after run.
    // The floor: a Bun daemon doing only what a run needs (bench/floors/runner.ts): what the
    // runtime costs per run before any of k6gate's own work.
    {
      label: FLOOR,
      kind: 'k6gate',
      binary: compileFloor('runner', floors),
    },
    {
      label: 'k6gate warm (after 400 runs)',
      kind: 'k6gate',
      binary: k6gate,
      opts: { warmup: 400 },
    },
  ];
  const base = baseline();
  if (base) daemons.push({ ...base, kind: 'k6gate' });
  const cpu = new Map<string, number[]>(daemons.map((d) => [d.label, []]));
  const wall = new Map<string, number[]>(daemons.map((d) => [d.label, []]));
  let split = '';
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? daemons : [...daemons].reverse();
    for (const d of order) {
      const r = await measure(d.kind, d.binary, d.label.replace(/\W+/g, '-'), d.opts);
      log(
        `round ${round + 1} ${d.label}: ${r.cpu.toFixed(2)} ms CPU per run, ${r.wall.toFixed(1)} s`,
      );
      cpu.get(d.label)?.push(r.cpu);
      if (d.label === 'k6gate')
        split = r.threads
          .filter(([, ms]) => ms >= 0.01)
          .map(([thread, ms]) => `${thread} ${ms.toFixed(2)} ms`)
          .join(' · ');
      wall.get(d.label)?.push(r.wall);
    }
  }
  rmSync(floors, { recursive: true, force: true });
  const original = median(cpu.get('original v0.5.7') ?? []);
  const floor = median(cpu.get(FLOOR) ?? []);
  const overFloor = (label: string) => (median(cpu.get(label) ?? []) - floor).toFixed(2);
  const rows = daemons.map((d) => {
    const c = cpu.get(d.label) ?? [];
    const w = median(wall.get(d.label) ?? []);
    return `| ${d.label} | ${median(c).toFixed(2)} ms (${c.map((x) => x.toFixed(2)).join(' / ')}) | ${(median(c) / original).toFixed(2)}× | ${w.toFixed(1)} s |`;
  });
  console.log(
    `\n#### The daemon's own CPU per run (${new Date().toISOString()}, ${RUNS} waited runs, ${CALLERS} callers, ${ROUNDS} rounds interleaved, medians)\n\n| daemon | CPU per run (each round) | vs the original | wall for ${RUNS} runs |\n|---|---|---|---|\n${rows.join('\n')}\n\nk6gate's own work over the Bun floor: ${overFloor('k6gate')} ms per run (warm: ${overFloor('k6gate warm (after 400 runs)')} ms). k6gate's CPU per run by thread (last round): ${split}`,
  );
}

await main();
