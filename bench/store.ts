// `make bench-store` (also part of `make bench`): what the store costs. The same compiled
// k6gate with --store memory and with --store sqlite:<file>, interleaved over ROUNDS: the
// latency of a waited run (wait_for_results, the k6 double's quick pass; every run writes its
// record and verdict) and 429 answers per second with every slot taken (wrk, which a store
// never sees: the cost there is zero by design). Medians; loopback only; every loop bounded.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { doubleScript } from '../test/helpers/processes.ts';
import { median } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const K6GATE = join(REPO, 'dist/k6gate');
const DOUBLE = join(REPO, 'test/fixtures/bin/k6');
const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 3);
const RUNS = Number(process.env.BENCH_STORE_RUNS ?? 40);
const log = (msg: string) => process.stderr.write(`[bench-store] ${msg}\n`);

let seq = 0;
const payload = (directives: string, wait: boolean) =>
  JSON.stringify({
    name: `bench-${++seq}`,
    namespace: 'bench',
    phase: 'Progressing',
    checksum: `rev-${seq}`,
    metadata: {
      script: doubleScript(directives),
      wait_for_results: String(wait),
      min_failure_delay: '0s',
    },
  });

async function post(url: string, body: string) {
  const t0 = performance.now();
  const res = await fetch(`${url}/launch-test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t0 };
}

async function start(store: string, slots: number) {
  const tmp = mkdtempSync(join(tmpdir(), 'k6gate-bench-store-'));
  const proc = Bun.spawn(
    [K6GATE, 'serve', '--host', '127.0.0.1', '--listen-port', '0', '--log-format', 'json'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        K6_BINARY: DOUBLE,
        TEMP_DIR: tmp,
        MAX_CONCURRENT_TESTS: String(slots),
        STORE: store === 'sqlite' ? `sqlite:${join(tmp, 'db', 'k6gate.db')}` : 'memory',
      },
      stdout: 'ignore',
      stderr: 'pipe',
    },
  );
  const reader = proc.stderr.getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('k6gate exited before listening');
    text += new TextDecoder().decode(value);
    const m = /"msg":"listening","url":"([^"]+)"/.exec(text);
    if (m) {
      reader.releaseLock();
      return {
        url: m[1]!,
        async stop() {
          proc.kill('SIGTERM');
          await proc.exited;
          rmSync(tmp, { recursive: true, force: true });
        },
      };
    }
  }
}

async function waited(store: string): Promise<number> {
  const d = await start(store, 10);
  try {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await post(d.url, payload('mode=pass duration=0s', true));
      if (r.status !== 200) throw new Error(`${store}: waited run answered ${r.status}`);
      ms.push(r.ms);
    }
    return median(ms);
  } finally {
    await d.stop();
  }
}

async function busy(store: string, lua: string): Promise<number> {
  const d = await start(store, 1);
  try {
    const hold = await post(d.url, payload('mode=hang', false));
    if (hold.status !== 200) throw new Error(`${store}: could not take the slot`);
    const wrk = Bun.spawnSync(['wrk', '-t2', '-c16', '-d3s', '-s', lua, `${d.url}/launch-test`]);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(wrk.stdout.toString())?.[1]);
  } finally {
    await d.stop();
  }
}

async function main() {
  const lua = join(tmpdir(), `k6gate-bench-store-${process.pid}.lua`);
  writeFileSync(
    lua,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(payload('mode=pass', false))}\n`,
  );
  const got: Record<string, { waited: number[]; busy: number[] }> = {
    memory: { waited: [], busy: [] },
    sqlite: { waited: [], busy: [] },
  };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const store of r % 2 === 0 ? ['memory', 'sqlite'] : ['sqlite', 'memory']) {
        log(`round ${r + 1}/${ROUNDS} ${store}`);
        got[store]!.waited.push(await waited(store));
        got[store]!.busy.push(await busy(store, lua));
      }
    }
  } finally {
    rmSync(lua, { force: true });
  }
  const m = (s: string, k: 'waited' | 'busy') => median(got[s]![k]);
  console.log(
    [
      `#### The store's cost (${new Date().toISOString()}, ${ROUNDS} rounds interleaved, ${RUNS} waited runs each, medians)`,
      '',
      '| measure | --store memory | --store sqlite | ratio |',
      '|---|---|---|---|',
      `| waited run, p50 | ${m('memory', 'waited').toFixed(1)} ms | ${m('sqlite', 'waited').toFixed(1)} ms | ${(m('sqlite', 'waited') / m('memory', 'waited')).toFixed(2)}× |`,
      `| 429 answers per second at capacity (wrk, 3 s) | ${m('memory', 'busy').toFixed(0)} /s | ${m('sqlite', 'busy').toFixed(0)} /s | ${(m('sqlite', 'busy') / m('memory', 'busy')).toFixed(2)}× |`,
    ].join('\n'),
  );
}

await main();
