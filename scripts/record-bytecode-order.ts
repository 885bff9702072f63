// `make bytecode-order`: records which functions a k6gate binary runs — as a daemon (start, waited
// runs that pass and fail, a refused request, /metrics, a SIGTERM stop) and as `k6gate run` — into
// build/serve.order and build/run.order (BUN_BYTECODE_ORDER_OUT). `make build` passes them to
// `bun build --bytecode-order`, which puts that bytecode first in the binary: it reads and decodes
// less of itself at start (bench/README.md, "Session 16"). A profile holds hashes of functions'
// syntax, not code, and stays useful as the code changes; record again when
// `bench/start.ts` reports its coverage falling. Runs the k6 double (test/fixtures), loopback only.
//
// Usage: bun scripts/record-bytecode-order.ts <k6gate binary> <output dir>

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compiledDouble, startBenchDaemon } from '../bench/lib.ts';
import { doubleScript } from '../test/helpers/processes.ts';

const [binaryArg, outArg] = process.argv.slice(2);
if (!binaryArg || !outArg) {
  console.error('usage: bun scripts/record-bytecode-order.ts <k6gate binary> <output dir>');
  process.exit(64);
}
const binary = resolve(binaryArg);
const outDir = resolve(outArg);
const RUNS = 20;

async function launch(url: string, name: string, directives: string) {
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name,
      namespace: 'record',
      phase: 'Progressing',
      metadata: { script: doubleScript(directives), min_failure_delay: '0s' },
    }),
  });
  await res.text();
  return res.status;
}

/** The daemon as a canary's hooks use it: waited runs (most pass), a refused body, /metrics. */
async function recordServe(k6: string) {
  const profile = join(outDir, 'serve.order');
  rmSync(profile, { force: true }); // so that the check below sees this run's
  const d = await startBenchDaemon({
    name: 'record-order',
    kind: 'k6gate',
    binary,
    child: k6,
    slots: 1,
    env: { BUN_BYTECODE_ORDER_OUT: profile, LOG_LEVEL: 'info' }, // as shipped
  });
  try {
    for (let i = 0; i < RUNS; i++) {
      const status = await launch(d.url, `pass-${i}`, 'mode=pass duration=0s');
      if (status !== 200) throw new Error(`a passing run answered ${status}`);
    }
    if ((await launch(d.url, 'fail', 'mode=fail-thresholds duration=0s')) === 200)
      throw new Error('a failing run answered 200');
    const refused = await fetch(`${d.url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"name": 1}',
    });
    if ((await refused.text()) && refused.status !== 400)
      throw new Error('a bad body was not refused');
    await fetch(`${d.url}/metrics`).then((r) => r.text());
  } finally {
    await d.stop(); // SIGTERM: the profile is written as the daemon exits
  }
  if (!existsSync(profile)) throw new Error('the daemon wrote no profile');
}

/** `k6gate run` as a CI gate uses it: one passing script. */
async function recordRun(k6: string) {
  const tmp = mkdtempSync(join(tmpdir(), 'k6gate-record-order-'));
  try {
    const file = join(tmp, 'gate.js');
    writeFileSync(file, doubleScript('mode=pass duration=0s'));
    const proc = Bun.spawn([binary, 'run', file], {
      env: {
        PATH: process.env.PATH ?? '',
        TMPDIR: tmp,
        TEMP_DIR: tmp,
        K6_BINARY: k6,
        BUN_BYTECODE_ORDER_OUT: join(outDir, 'run.order'),
      },
      stdout: 'ignore',
      stderr: 'ignore',
    });
    if ((await proc.exited) !== 0) throw new Error('k6gate run did not pass');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

mkdirSync(outDir, { recursive: true });
const k6 = compiledDouble();
await recordServe(k6);
await recordRun(k6);
console.error(`recorded ${join(outDir, 'serve.order')} and ${join(outDir, 'run.order')}`);
