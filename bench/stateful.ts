// `make bench-stateful`: what stateful hooks keep in memory. 150 stateful runs whose k6 prints
// 1 MiB each (all verdicts then kept for --stateful-ttl), and the same 150 runs blocking, on the
// compiled k6gate and, with BENCH_BASELINE=<an older k6gate binary>, on that one in the same
// run: the daemon's RSS once every verdict is in. Loopback only; every loop bounded.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rssKiB, startBenchDaemon } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const RUNS = Number(process.env.BENCH_STATEFUL_RUNS ?? 150);
const OUTPUT_BYTES = 1024 * 1024;
const log = (msg: string) => process.stderr.write(`[bench-stateful] ${msg}\n`);

const dir = mkdtempSync(join(tmpdir(), 'k6gate-bench-stateful-'));
const K6 = join(dir, 'k6');
// A k6 stand-in: the banner line k6gate waits for, then 1 MiB of output, then a pass.
writeFileSync(
  K6,
  `#!/bin/sh\necho "         output: -"\nhead -c ${OUTPUT_BYTES} /dev/zero | tr '\\0' 'x'\necho\nexit 0\n`,
  { mode: 0o755 },
);

// A daemon whose k6 is the 1 MiB stand-in, its answers carrying the whole output.
const start = (binary: string) =>
  startBenchDaemon({
    name: 'stateful',
    kind: 'k6gate',
    binary,
    child: K6,
    slots: 20,
    env: { MAX_OUTPUT_BYTES: String(OUTPUT_BYTES + 4096), RUN_CGROUP: 'off' },
  });

const payload = (i: number, mode: string) =>
  JSON.stringify({
    name: `svc-${i}`,
    namespace: `team-${i % 10}`,
    phase: 'Progressing',
    checksum: 'rev-1',
    metadata: { script: 'export default function () {}', mode, min_failure_delay: '0s' },
  });

async function call(url: string, body: string): Promise<number> {
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

// Every run to its verdict: stateful ones are called again until they answer 200 (bounded).
async function drive(url: string, mode: string) {
  const pending = new Set(Array.from({ length: RUNS }, (_, i) => i));
  for (let round = 0; pending.size > 0 && round < 200; round++) {
    await Promise.all(
      [...pending].slice(0, 20).map(async (i) => {
        const status = await call(url, payload(i, mode));
        if (status === 200) pending.delete(i);
        else if (status !== 202 && status !== 429) throw new Error(`run ${i}: HTTP ${status}`);
      }),
    );
    if (mode === 'stateful') await Bun.sleep(50);
  }
  if (pending.size > 0) throw new Error(`${pending.size} runs gave no verdict`);
}

async function measure(binary: string, mode: string): Promise<number> {
  const d = await start(binary);
  try {
    await drive(d.url, mode);
    await Bun.sleep(2000); // settled: buffers released, a GC had its chance
    return rssKiB(d.pid) / 1024;
  } finally {
    await d.stop();
  }
}

const binaries: [string, string][] = [['k6gate', join(REPO, 'dist/k6gate')]];
if (process.env.BENCH_BASELINE) binaries.push(['baseline', process.env.BENCH_BASELINE]);
try {
  const rows: string[] = [];
  for (const mode of ['stateful', 'blocking']) {
    const cells: string[] = [];
    for (const [name, binary] of binaries) {
      const mib = await measure(binary, mode);
      log(`${name} ${mode}: ${mib.toFixed(1)} MiB`);
      cells.push(`${mib.toFixed(1)} MiB`);
    }
    rows.push(`| ${RUNS} × 1 MiB runs, ${mode} | ${cells.join(' | ')} |`);
  }
  console.log(
    `\n#### Stateful memory (${new Date().toISOString()}, RSS once every verdict is in)\n\n| measure | ${binaries.map(([n]) => n).join(' | ')} |\n|---|${binaries.map(() => '---|').join('')}\n${rows.join('\n')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
