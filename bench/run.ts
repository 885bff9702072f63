// `make bench`: k6gate side by side with the Go original (grafana/flagger-k6-webhook, built
// from its Go module) and with a bare Bun.spawn of the same child (the floor). Both daemons
// drive the same k6 contract double, alternating A/B over rounds; medians and ratios are
// written to bench/results/ as JSON and Markdown. Loopback only; every loop is bounded.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { doubleScript, zombieChildren } from '../test/helpers/processes.ts';
import { buildOriginal, compiledDouble, median, rssKiB, startBenchDaemon } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const K6GATE = join(REPO, 'dist/k6gate');
// wrk measures the 429 path minutes in: when it is missing, say so before anything is built.
if (!Bun.which('wrk'))
  throw new Error('wrk is not installed: run `bash bench/tools.sh` (make bench does)');
const DOUBLE = compiledDouble();
const SLEEPER = join(REPO, 'bench/k6-sleeper.sh');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QUICK = process.env.BENCH_QUICK === '1';

type Name = 'k6gate' | 'original';

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// The two daemons by name, on the same child.
const startDaemon = (
  name: Name,
  original: string,
  opts: { child: string; slots: number; env?: Record<string, string> },
) => startBenchDaemon({ ...opts, name, kind: name, binary: name === 'k6gate' ? K6GATE : original });

let seq = 0;
function payload(directives: string, wait: boolean) {
  seq++;
  return JSON.stringify({
    name: `bench-${seq}`,
    namespace: 'bench',
    phase: 'Progressing',
    metadata: {
      script: doubleScript(directives),
      wait_for_results: String(wait),
      min_failure_delay: '0s',
    },
  });
}

async function post(
  url: string,
  body: string,
  opts: { close?: boolean } = {},
): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      // Hygiene counts the daemon's fds: keep-alive client sockets must not count as leaks.
      ...(opts.close ? { Connection: 'close' } : {}),
    },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t0 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });

async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>) {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Alternates A B / B A across rounds and collects one number (or record) per round. */
async function alternate<T>(label: string, run: (name: Name) => Promise<T>) {
  const out: Record<Name, T[]> = { k6gate: [], original: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Name[] = r % 2 === 0 ? ['k6gate', 'original'] : ['original', 'k6gate'];
    for (const name of order) {
      log(`${label}: round ${r + 1}/${ROUNDS} ${name}`);
      out[name].push(await run(name));
    }
  }
  return out;
}

async function main() {
  const original = buildOriginal();
  log(`original: ${original}`);
  const results: Record<string, unknown> = {};
  const N_SEQ = QUICK ? 5 : 15;
  const N_CONC = QUICK ? 16 : 64;
  // k6gate's blocking overhead is a difference of two ~25 ms medians: 15 pairs left it ±0.5 ms.
  // (The original's runs take 2 s each, its banner poll: 15 of them say all there is.)
  const nBlocking = (name: Name) => (QUICK ? 5 : name === 'k6gate' ? 40 : N_SEQ);

  // 1. Accept latency of wait_for_results=false, sequential and at 16 concurrent clients.
  const accept = await alternate('accept latency', async (name) => {
    const d = await startDaemon(name, original, { child: DOUBLE, slots: 1000 });
    try {
      const seqMs: number[] = [];
      for (let i = 0; i < N_SEQ; i++) {
        const r = await post(d.url, payload('mode=pass duration=1s', false));
        if (r.status !== 200) throw new Error(`${name}: async launch answered ${r.status}`);
        seqMs.push(r.ms);
      }
      const conc = await pool(N_CONC, 16, () =>
        post(d.url, payload('mode=pass duration=1s', false)),
      );
      return {
        seqP50: median(seqMs),
        seqP99: pct(seqMs, 99),
        concP50: median(conc.map((c) => c.ms)),
        concP99: pct(
          conc.map((c) => c.ms),
          99,
        ),
      };
    } finally {
      await Bun.sleep(1500); // let the 1 s runs end before stopping
      await d.stop();
    }
  });
  results.accept = accept;

  // 2. A blocking run over the floor: a bare Bun.spawn of the same child with the same k6
  // command k6gate runs (`run --summary-export <file> <script>`) and its output read to EOF, as
  // any gate that learns k6's verdict must; interleaved with the daemon's runs so both see the
  // same machine state. Also beside a bare spawn of `run <script>` with its output discarded
  // (the floor until Session 18: the child then did less work than k6gate's, ~0.5 ms here).
  const floorDir = mkdtempSync(join(tmpdir(), 'k6gate-bench-floor-'));
  const floorScript = join(floorDir, 'script.js');
  writeFileSync(floorScript, doubleScript('mode=pass duration=0s'));
  const timed = async (argv: string[], read: boolean) => {
    const t0 = performance.now();
    const io = read ? 'pipe' : 'ignore';
    const p = Bun.spawn(argv, { stdout: io, stderr: io, cwd: floorDir });
    await Promise.all([
      p.exited,
      read && new Response(p.stdout as ReadableStream).arrayBuffer(),
      read && new Response(p.stderr as ReadableStream).arrayBuffer(),
    ]);
    return performance.now() - t0;
  };
  const summaryFile = join(floorDir, 'summary.json');
  const blocking = await alternate('blocking run', async (name) => {
    const d = await startDaemon(name, original, { child: DOUBLE, slots: 1000 });
    try {
      const ms: number[] = [];
      const floor: number[] = [];
      const bare: number[] = [];
      for (let i = 0; i < nBlocking(name); i++) {
        bare.push(await timed([DOUBLE, 'run', floorScript], false));
        floor.push(
          await timed([DOUBLE, 'run', '--summary-export', summaryFile, floorScript], true),
        );
        const r = await post(d.url, payload('mode=pass duration=0s', true));
        if (r.status !== 200) throw new Error(`${name}: blocking run answered ${r.status}`);
        ms.push(r.ms);
      }
      return {
        p50: median(ms),
        floorP50: median(floor),
        overhead: median(ms) - median(floor),
        bareFloorP50: median(bare),
        overBare: median(ms) - median(bare),
      };
    } finally {
      await d.stop();
    }
  });
  rmSync(floorDir, { recursive: true, force: true });
  results.blocking = blocking;

  // 3. 429 answers per second with every slot taken (wrk, 5 s after 1 s unmeasured, 16 connections).
  const busyLua = join(tmpdir(), `k6gate-bench-${process.pid}.lua`);
  writeFileSync(
    busyLua,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(payload('mode=pass duration=0s', false))}\n`,
  );
  let busy: Record<Name, number[]>;
  try {
    busy = await alternate('429 at capacity', async (name) => {
      const d = await startDaemon(name, original, { child: SLEEPER, slots: 1 });
      try {
        const hold = await post(d.url, payload('mode=hang', false));
        if (hold.status !== 200)
          throw new Error(`${name}: could not take the slot (${hold.status})`);
        const probe = await post(d.url, payload('mode=pass', false));
        if (probe.status !== 429) throw new Error(`${name}: expected 429, got ${probe.status}`);
        // One second of the same flood first, not counted: a daemon at capacity has been up, and
        // a just-started JIT would otherwise compile k6gate's handlers inside the measured window
        // (the Go original has nothing to warm; it gets the same second).
        const flood = (seconds: number) =>
          Bun.spawnSync(
            ['wrk', '-t2', '-c16', `-d${seconds}s`, '-s', busyLua, `${d.url}/launch-test`],
            { stderr: 'pipe' },
          );
        flood(1);
        const text = flood(QUICK ? 2 : 5).stdout.toString();
        const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
        return rps;
      } finally {
        await d.stop();
      }
    });
  } finally {
    rmSync(busyLua, { force: true }); // also when wrk or a daemon fails
  }
  results.busy429PerSec = busy;

  // 4. RSS: idle, and with 200 and 500 runs alive (the child is a sh sleeper; not counted).
  const rss = await alternate('RSS', async (name) => {
    const d = await startDaemon(name, original, { child: SLEEPER, slots: 1000 });
    try {
      await Bun.sleep(1000);
      const idle = rssKiB(d.pid);
      const launchMany = async (n: number) => {
        const r = await pool(n, 16, () => post(d.url, payload('mode=hang', false)));
        const bad = r.filter((x) => x.status !== 200).length;
        if (bad > 0) throw new Error(`${name}: ${bad} launches refused`);
      };
      await launchMany(200);
      await Bun.sleep(500);
      const at200 = rssKiB(d.pid);
      await launchMany(300);
      await Bun.sleep(500);
      const at500 = rssKiB(d.pid);
      // Two figures: from idle (with what the first runs warm up once: JIT code, heap growth)
      // and the marginal cost of one more running test (the 300 between 200 and 500).
      return {
        idleKiB: idle,
        at200KiB: at200,
        at500KiB: at500,
        perRunKiB: (at500 - idle) / 500,
        marginalKiB: (at500 - at200) / 300,
      };
    } finally {
      await d.stop();
    }
  });
  results.rss = rss;

  // 5. Start to the first 200 on /health.
  const startup = await alternate('start time', async (name) => {
    const ms: number[] = [];
    for (let i = 0; i < (QUICK ? 3 : 7); i++) {
      const d = await startDaemon(name, original, { child: DOUBLE, slots: 10 });
      ms.push(d.startMs);
      await d.stop();
    }
    return median(ms);
  });
  results.startMs = startup;

  // 6. 1,000 waited runs through a 50-slot limit: hygiene and verdicts.
  const RUNS = QUICK ? 200 : 1000;
  const hygiene: Record<Name, unknown> = { k6gate: undefined, original: undefined };
  for (const name of ['k6gate', 'original'] as Name[]) {
    log(`hygiene: ${RUNS} runs through 50 slots on ${name}`);
    const d = await startDaemon(name, original, { child: DOUBLE, slots: 50 });
    try {
      await Bun.sleep(300);
      const fdsBefore = fdCount(d.pid);
      const t0 = performance.now();
      let wrong = 0;
      let busyCount = 0;
      await pool(RUNS, 50, async (i) => {
        const fail = i % 2 === 1;
        for (;;) {
          const r = await post(
            d.url,
            payload(fail ? 'mode=fail-thresholds duration=0s' : 'mode=pass duration=0s', true),
            { close: true },
          );
          if (r.status === 429) {
            busyCount++;
            await Bun.sleep(100);
            continue;
          }
          if (r.status !== (fail ? 400 : 200)) wrong++;
          return;
        }
      });
      const seconds = (performance.now() - t0) / 1000;
      await Bun.sleep(1000);
      hygiene[name] = {
        runs: RUNS,
        seconds,
        wrongVerdicts: wrong,
        busyRetries: busyCount,
        zombies: zombieChildren(d.pid).length,
        leakedFds: fdCount(d.pid) - fdsBefore,
        leakedTempFiles: readdirSync(d.tmp).length,
      };
    } finally {
      await d.stop();
    }
  }
  results.hygiene = hygiene;

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    bun: Bun.version,
    go: Bun.spawnSync(['go', 'version']).stdout.toString().trim(),
    date: new Date().toISOString(),
    rounds: ROUNDS,
  };
  const out = { machine, results };
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(REPO, `bench/results/${stamp}.json`), JSON.stringify(out, null, 2));
  const md = renderMarkdown(out);
  writeFileSync(join(REPO, `bench/results/${stamp}.md`), md);
  writeFileSync(join(REPO, 'bench/results/latest.md'), md);
  process.stdout.write(md);
}

type Pair<T> = Record<Name, T[]>;
type Machine = {
  date: string;
  cpus: number;
  cpuModel?: string;
  memGiB: number;
  bun: string;
  rounds: number;
};
type Results = { machine: Machine; results: Record<string, any> };

export function renderMarkdown(out: Results) {
  const r = out.results;
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const pick = (p: Pair<any>, key: string, scale = 1): Pair<number> => ({
    k6gate: p.k6gate.map((x) => (key ? x[key] : x) * scale),
    original: p.original.map((x) => (key ? x[key] : x) * scale),
  });
  const row = (label: string, p: Pair<number>, unit: string, d = 1) => {
    const [km, om] = [median(p.k6gate), median(p.original)];
    const [sk, so] = [spread(p.k6gate), spread(p.original)];
    return `| ${label} | ${f(km, d)} ${unit} (${f(sk.min, d)}–${f(sk.max, d)}) | ${f(om, d)} ${unit} (${f(so.min, d)}–${f(so.max, d)}) | ${f(km / om, 2)}× |`;
  };
  const MiB = 1 / 1024;
  const rows: [string, Pair<number>, string, number?][] = [
    ['accept latency p50, sequential (wait=false)', pick(r.accept, 'seqP50'), 'ms'],
    ['accept latency p99, sequential', pick(r.accept, 'seqP99'), 'ms'],
    ['accept latency p50, 16 concurrent', pick(r.accept, 'concP50'), 'ms'],
    ['accept latency p99, 16 concurrent', pick(r.accept, 'concP99'), 'ms'],
    ['blocking run (wait=true), p50', pick(r.blocking, 'p50'), 'ms'],
    [
      'blocking run over the floor (same k6 command, output read)',
      pick(r.blocking, 'overhead'),
      'ms',
    ],
    ['blocking run over a bare spawn (output discarded)', pick(r.blocking, 'overBare'), 'ms'],
    ['429 answers per second at capacity (wrk)', pick(r.busy429PerSec, ''), '/s', 0],
    ['idle RSS', pick(r.rss, 'idleKiB', MiB), 'MiB'],
    ['RSS with 200 runs alive', pick(r.rss, 'at200KiB', MiB), 'MiB'],
    ['RSS with 500 runs alive', pick(r.rss, 'at500KiB', MiB), 'MiB'],
    ['RSS per running test (idle → 500 alive)', pick(r.rss, 'perRunKiB'), 'KiB'],
    ['RSS per running test, marginal (200 → 500 alive)', pick(r.rss, 'marginalKiB'), 'KiB'],
    ['start to first 200 on /health', pick(r.startMs, ''), 'ms'],
  ];
  const floor = median(pick(r.blocking, 'floorP50').k6gate);
  const hygieneKeys = [
    'runs',
    'seconds',
    'wrongVerdicts',
    'zombies',
    'leakedFds',
    'leakedTempFiles',
    'busyRetries',
  ];
  const m = out.machine;
  return [
    `### Benchmark (${m.date}, ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Bun ${m.bun}, ${m.rounds} rounds A/B)`,
    '',
    'Medians over rounds, (min–max across rounds); ratio = k6gate / original (lower is better, except 429/s).',
    '',
    '| measure | k6gate | original v0.5.7 | ratio |',
    '|---|---|---|---|',
    ...rows.map(([label, p, unit, d]) => row(label, p, unit, d)),
    '',
    `Floor (a bare \`Bun.spawn\` of the same k6 double, command and script, its output read, interleaved): p50 ${f(floor)} ms; k6gate / floor = ${f(median(pick(r.blocking, 'p50').k6gate) / floor, 2)}×; a bare spawn with its output discarded: p50 ${f(median(pick(r.blocking, 'bareFloorP50').k6gate))} ms. The original polls for k6's banner every 2 s, which is most of its latency.`,
    '',
    '| 1,000 waited runs through 50 slots | k6gate | original |',
    '|---|---|---|',
    ...hygieneKeys.map((k) => {
      const d = k === 'seconds' ? 1 : 0;
      return `| ${k} | ${f(r.hygiene.k6gate[k], d)} | ${f(r.hygiene.original[k], d)} |`;
    }),
    '',
  ].join('\n');
}

if (import.meta.main) await main();
