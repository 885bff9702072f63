// `make bytecode-order`: records which functions a k6gate binary runs — as a daemon (start, waited
// runs that pass and fail, a refused request, /metrics, a SIGTERM stop) and as `k6gate run` — into
// build/serve.order and build/run.order (BUN_BYTECODE_ORDER_OUT). `make build` passes them to
// `bun build --bytecode-order`, which puts that bytecode first in the binary: it reads and decodes
// less of itself at start (bench/README.md, "Session 16"). A profile holds hashes of functions'
// syntax, not code, and stays useful as the code changes; record again when
// `bench/start.ts` reports its coverage falling. Runs the k6 double (test/fixtures), loopback only.
//
// Usage: bun scripts/record-bytecode-order.ts <k6gate binary> <output dir>

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dir, '..');
const [binaryArg, outArg] = process.argv.slice(2);
if (!binaryArg || !outArg) {
  console.error('usage: bun scripts/record-bytecode-order.ts <k6gate binary> <output dir>');
  process.exit(64);
}
const binary = resolve(binaryArg);
const outDir = resolve(outArg);
const RUNS = 20;

const script = (directives: string) =>
  `// k6-double: ${directives}\nexport default function () {}\n`;

function k6Double(): string {
  const out = Bun.spawnSync(['sh', join(REPO, 'test/fixtures/build-k6-double.sh')], {
    stderr: 'inherit',
  });
  if (out.exitCode !== 0) throw new Error('cannot build the k6 double');
  return out.stdout.toString().trim();
}

function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

async function waitHealthy(url: string) {
  for (let i = 0; i < 500; i++) {
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await Bun.sleep(20);
  }
  throw new Error(`${url} not healthy in 10 s`);
}

async function launch(url: string, name: string, directives: string) {
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name,
      namespace: 'record',
      phase: 'Progressing',
      metadata: { script: script(directives), min_failure_delay: '0s' },
    }),
  });
  await res.text();
  return res.status;
}

/** The daemon as a canary's hooks use it: waited runs (most pass), a refused body, /metrics. */
async function recordServe(env: Record<string, string>) {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = Bun.spawn([binary, 'serve', '--host', '127.0.0.1', '--listen-port', String(port)], {
    env: { ...env, BUN_BYTECODE_ORDER_OUT: join(outDir, 'serve.order') },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  try {
    await waitHealthy(url);
    for (let i = 0; i < RUNS; i++) {
      const status = await launch(url, `pass-${i}`, 'mode=pass duration=0s');
      if (status !== 200) throw new Error(`a passing run answered ${status}`);
    }
    if ((await launch(url, 'fail', 'mode=fail-thresholds duration=0s')) === 200)
      throw new Error('a failing run answered 200');
    const refused = await fetch(`${url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"name": 1}',
    });
    if ((await refused.text()) && refused.status !== 400)
      throw new Error('a bad body was not refused');
    await fetch(`${url}/metrics`).then((r) => r.text());
  } finally {
    proc.kill('SIGTERM');
  }
  if ((await proc.exited) !== 0) throw new Error('the daemon did not stop cleanly');
}

/** `k6gate run` as a CI gate uses it: one passing script. */
async function recordRun(env: Record<string, string>, tmp: string) {
  const file = join(tmp, 'gate.js');
  writeFileSync(file, script('mode=pass duration=0s'));
  const proc = Bun.spawn([binary, 'run', file], {
    env: { ...env, BUN_BYTECODE_ORDER_OUT: join(outDir, 'run.order') },
    stdout: 'ignore',
    stderr: 'ignore',
  });
  if ((await proc.exited) !== 0) throw new Error('k6gate run did not pass');
}

const tmp = mkdtempSync(join(tmpdir(), 'k6gate-record-order-'));
try {
  mkdirSync(outDir, { recursive: true });
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(k6Double(), join(bin, 'k6'));
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    TMPDIR: tmp,
    TEMP_DIR: tmp,
    K6_BINARY: 'k6',
    LOG_LEVEL: 'info',
  };
  await recordServe(env);
  await recordRun(env, tmp);
  console.error(`recorded ${join(outDir, 'serve.order')} and ${join(outDir, 'run.order')}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
