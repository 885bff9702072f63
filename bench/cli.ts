// `make bench` (and `make bench-cli`): what `k6gate run` costs over running k6 alone. The peer is
// the same k6 (the compiled k6 contract double) run directly, interleaved A/B over ROUNDS with
// the same script; reported: median wall time of each, the overhead and the ratio, and k6gate's
// peak RSS (its own process, k6 excluded). Results go to bench/results/cli-<time>.{json,md}.
// Loopback only (the script sends nothing); every loop is bounded.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { doubleScript } from '../test/helpers/processes.ts';
import { compiledDouble } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const K6GATE = join(REPO, 'dist/k6gate');
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 15);

async function timed(argv: string[], env: Record<string, string>) {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { env, stdout: 'ignore', stderr: 'ignore' });
  const code = await proc.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`);
  return { ms, maxRssKiB: (proc.resourceUsage()?.maxRSS ?? 0) / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  const k6 = compiledDouble();
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-bench-cli-'));
  try {
    const script = join(dir, 'pass.js');
    writeFileSync(script, doubleScript('mode=pass duration=200ms'));
    const env = { PATH: process.env.PATH ?? '', K6_BINARY: k6, TEMP_DIR: dir };
    const alone: number[] = [];
    const gated: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const runK6 = () => timed([k6, 'run', script], env).then((r) => alone.push(r.ms));
      const runGate = () =>
        timed([K6GATE, 'run', '--env', 'A=1', script], env).then((r) => {
          gated.push(r.ms);
          rss.push(r.maxRssKiB);
        });
      if (i % 2 === 0) await runK6().then(runGate);
      else await runGate().then(runK6);
    }
    const results = {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      k6AloneMs: median(alone),
      k6gateRunMs: median(gated),
      overheadMs: median(gated) - median(alone),
      ratio: median(gated) / median(alone),
      k6gatePeakRssMiB: median(rss) / 1024,
    };
    const out = join(REPO, 'bench/results');
    mkdirSync(out, { recursive: true });
    const stamp = results.date.replace(/[:.]/g, '-');
    writeFileSync(join(out, `cli-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
    const md = [
      `#### \`k6gate run\` beside k6 alone (${results.date}, ${ROUNDS} rounds, medians)`,
      '',
      '| measure | k6 alone | `k6gate run` | overhead | ratio |',
      '|---|---|---|---|---|',
      `| wall time of one 200 ms test | ${results.k6AloneMs.toFixed(0)} ms | ${results.k6gateRunMs.toFixed(0)} ms | ${results.overheadMs.toFixed(0)} ms | ${results.ratio.toFixed(2)} |`,
      `| k6gate's own peak RSS (k6 excluded) | | ${results.k6gatePeakRssMiB.toFixed(1)} MiB | | |`,
      '',
    ].join('\n');
    writeFileSync(join(out, `cli-${stamp}.md`), md);
    writeFileSync(join(out, 'cli-latest.md'), md);
    process.stdout.write(md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
