// `make bench-start` (also part of `make bench`): what starting k6gate costs beside the Go
// original, in the same run. For each daemon, interleaved over ROUNDS: time from spawn to the
// first 200 on /health (polled every 2 ms) and RSS once idle (1 s after that 200). With
// BENCH_BASELINE=/path/to/an/older/k6gate, that binary is measured in the same rounds as a third
// column (e.g. the previous commit's build). Two floors run in the same rounds: an Elysia app with
// one route and a bare Bun.serve (bench/floors/), compiled with k6gate's flags. k6gate and the
// original are measured quiet (LOG_LEVEL=error) and again at their default level (info), as
// shipped. Then the cost of each module k6gate may load, each in a fresh Bun process: time to
// import it and the RSS it adds (medians), and how much of a start the committed bytecode-order
// profile covers. Loopback only.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { orderCoverage } from '../test/helpers/bytecode-order.ts';
import {
  buildOriginal,
  compileFloor,
  compiledDouble,
  freePort,
  rssKiB,
  settleBinary,
  startBenchDaemon,
} from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const ROUNDS = Number(process.env.BENCH_START_ROUNDS ?? 9);
const BUN = join(REPO, 'node_modules/.bin/bun');
const log = (msg: string) => process.stderr.write(`[bench-start] ${msg}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Spawn → first 200 on /health, then idle RSS; the daemon is stopped before returning. */
async function measure(argv: string[], quiet: boolean) {
  settleBinary(argv[0]!);
  const tmp = mkdtempSync(join(tmpdir(), 'k6gate-bench-start-'));
  const port = await freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([...argv, ...(argv.length > 1 ? ['--listen-port', String(port)] : [])], {
    env: {
      PATH: process.env.PATH ?? '',
      TMPDIR: tmp,
      TEMP_DIR: tmp,
      // Quiet (errors only), or each daemon's default level (info for both), as shipped.
      ...(quiet ? { LOG_LEVEL: 'error' } : {}),
      LISTEN_PORT: String(port),
    },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  try {
    const deadline = t0 + 10_000;
    for (;;) {
      if (performance.now() > deadline) throw new Error(`${argv[0]} not healthy in 10 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await Bun.sleep(2);
    }
    const startMs = performance.now() - t0;
    await Bun.sleep(1000);
    return { startMs, idleKiB: rssKiB(proc.pid), anonKiB: rssKiB(proc.pid, 'RssAnon') };
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** How much of what a start uses the committed bytecode-order profile covers (`make build` lays
 * that bytecode out first): one start records what it ran (BUN_BYTECODE_ORDER_OUT, written as it
 * stops). Falling: `make bytecode-order`. */
async function startCoverage(k6gate: string) {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-bench-order-'));
  try {
    const recorded = join(dir, 'start.order');
    const d = await startBenchDaemon({
      name: 'order',
      kind: 'k6gate',
      binary: k6gate,
      child: compiledDouble(),
      slots: 1,
      env: { BUN_BYTECODE_ORDER_OUT: recorded },
    });
    await d.stop();
    return orderCoverage(recorded);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A module's import cost in a fresh process: ms to import and the RSS it adds (KiB). */
function moduleCost(specifier: string) {
  const dir = mkdtempSync(join(REPO, '.bench-module-'));
  const probe = join(dir, 'probe.ts');
  writeFileSync(
    probe,
    `const rss0 = process.memoryUsage().rss; const t0 = performance.now();\n` +
      `await import(${JSON.stringify(specifier)});\n` +
      `console.log(JSON.stringify({ ms: performance.now() - t0, kib: (process.memoryUsage().rss - rss0) / 1024 }));\n`,
  );
  try {
    const runs = Array.from({ length: 5 }, () => {
      const out = Bun.spawnSync([BUN, probe], { cwd: REPO });
      return JSON.parse(out.stdout.toString()) as { ms: number; kib: number };
    });
    return { ms: median(runs.map((r) => r.ms)), kib: median(runs.map((r) => r.kib)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:timers/promises',
  'bun:ffi',
  'elysia',
  'valibot',
  '@slack/web-api',
  '@kubernetes/client-node',
  join(REPO, 'src/config/parse.ts'),
  join(REPO, 'src/compose/engine.ts'),
  join(REPO, 'src/compose/daemon.ts'),
  join(REPO, 'src/cli/serve.ts'),
  join(REPO, 'src/cli/run.ts'),
];

async function main() {
  const original = buildOriginal();
  const k6gate = join(REPO, 'dist/k6gate');
  const floors = mkdtempSync(join(tmpdir(), 'k6gate-bench-floors-'));
  const daemons: Record<string, string[]> = {
    k6gate: [k6gate, 'serve', '--host', '127.0.0.1'],
    original: [original],
    // The floors: what an Elysia daemon and a bare Bun.serve start at, in the same rounds.
    elysia: [compileFloor('elysia', floors)],
    bunServe: [compileFloor('bun-serve', floors)],
  };
  if (process.env.BENCH_BASELINE) {
    daemons.baseline = [process.env.BENCH_BASELINE, 'serve', '--host', '127.0.0.1'];
  }
  // Both daemons again at their default log level (info): what a user runs, start lines logged.
  daemons['k6gate, default log level'] = daemons.k6gate!;
  daemons['original, default log level'] = daemons.original!;
  const names = Object.keys(daemons);
  const got: Record<string, { startMs: number[]; idleKiB: number[]; anonKiB: number[] }> = {};
  for (const n of names) got[n] = { startMs: [], idleKiB: [], anonKiB: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const m = await measure(daemons[n]!, !n.endsWith('default log level'));
      got[n]!.startMs.push(m.startMs);
      got[n]!.idleKiB.push(m.idleKiB);
      got[n]!.anonKiB.push(m.anonKiB);
    }
    log(`round ${r + 1}/${ROUNDS}`);
  }
  const row = (n: string) => ({
    startMs: median(got[n]!.startMs),
    idleMiB: median(got[n]!.idleKiB) / 1024,
    anonMiB: median(got[n]!.anonKiB) / 1024,
  });
  rmSync(floors, { recursive: true, force: true });
  const k = row('k6gate');
  const o = row('original');
  const b = process.env.BENCH_BASELINE ? row('baseline') : undefined;
  const e = row('elysia');
  const f = row('bunServe');
  const line = (measure: string, pick: (r: typeof k) => number, unit: string) =>
    `| ${measure} | ${pick(k).toFixed(1)} ${unit} | ${pick(o).toFixed(1)} ${unit} | ${(pick(k) / pick(o)).toFixed(2)}× | ${pick(e).toFixed(1)} ${unit} (${(pick(e) / pick(o)).toFixed(2)}×) | ${pick(f).toFixed(1)} ${unit} |${b ? ` ${pick(b).toFixed(1)} ${unit} |` : ''}`;
  const lines = [
    `#### Start and idle (${new Date().toISOString()}, ${ROUNDS} rounds interleaved, medians)`,
    '',
    `| measure | k6gate | original v0.5.7 | ratio | floor: Elysia, one route (vs original) | floor: Bun.serve |${b ? ' baseline |' : ''}`,
    `|---|---|---|---|---|---|${b ? '---|' : ''}`,
    line('start to first 200 on /health', (r) => r.startMs, 'ms'),
    line('idle RSS', (r) => r.idleMiB, 'MiB'),
    line('of which anonymous (heap, stacks)', (r) => r.anonMiB, 'MiB'),
    '',
    "At each daemon's default log level (info: the start lines written, as shipped):",
    '',
    '| measure | k6gate | original v0.5.7 | ratio |',
    '|---|---|---|---|',
    ...(['startMs', 'idleMiB'] as const).map((key) => {
      const [kd, od] = [row('k6gate, default log level'), row('original, default log level')];
      const unit = key === 'startMs' ? 'ms' : 'MiB';
      const label = key === 'startMs' ? 'start to first 200 on /health' : 'idle RSS';
      return `| ${label} | ${kd[key].toFixed(1)} ${unit} | ${od[key].toFixed(1)} ${unit} | ${(kd[key] / od[key]).toFixed(2)}× |`;
    }),
    '',
    '| module (imported alone, fresh `bun` process) | import time | RSS added |',
    '|---|---|---|',
  ];
  for (const m of MODULES) {
    const c = moduleCost(m);
    lines.push(
      `| \`${m.replace(`${REPO}/`, '')}\` | ${c.ms.toFixed(1)} ms | ${(c.kib / 1024).toFixed(1)} MiB |`,
    );
  }
  const order = await startCoverage(k6gate);
  lines.push(
    '',
    `Bytecode-order profile (build/serve.order): covers ${order.covered} of the ${order.used} functions a start used (${((100 * order.covered) / Math.max(1, order.used)).toFixed(1)}%); record again (\`make bytecode-order\`) when this falls.`,
  );
  const md = lines.join('\n');
  console.log(md);
  const dir = join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `start-${Date.now()}.md`), `${md}\n`);
}

await main();
