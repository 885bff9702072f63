// `make bench-history` (also part of `make bench`): what keeping runs costs. The compiled
// k6gate on a SQLite store holding 10,000 ended runs (each with a k6 summary of 12 metrics, its
// thresholds and a 4 KiB output tail, written beforehand with the store module) beside the same
// binary on an empty store: idle RSS, the runs API's latency (first page; a canary's runs), then
// RSS with 50 Server-Sent Event streams open on 5 running tests. And the in-memory store's
// heap for 10,000 such runs (measured in this process). Medians; loopback; bounded loops.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { createMemoryStore } from '../src/store/memory.ts';
import type { RunRecord, Store } from '../src/store/store.ts';
import { doubleScript } from '../test/helpers/processes.ts';
import { median, rssKiB, startBenchDaemon } from './lib.ts';

const REPO = resolve(import.meta.dir, '..');
const K6GATE = join(REPO, 'dist/k6gate');
const DOUBLE = join(REPO, 'test/fixtures/bin/k6');
const RUNS = 10_000;
const STREAMS = 50;
const RUNNING = 5;
const log = (msg: string) => process.stderr.write(`[bench-history] ${msg}\n`);

const METRICS = [
  'http_req_duration',
  'http_req_waiting',
  'http_req_connecting',
  'http_req_blocked',
  'http_req_sending',
  'http_req_receiving',
  'iteration_duration',
];
// A run as k6gate records it after a local run of a typical script.
function record(i: number): RunRecord {
  const trend = () => ({ avg: 12.3, min: 1.1, med: 10.2, max: 99.9, 'p(90)': 20.1, 'p(95)': 30.2 });
  return {
    runId: `run-${String(i).padStart(6, '0')}`,
    namespace: `team-${i % 20}`,
    name: `app-${i % 200}`,
    phase: 'Progressing',
    checksum: `rev-${Math.floor(i / 200)}`,
    hook: `hook-${i}`,
    runner: 'local',
    startedAt: 1_700_000_000_000 + i * 1000,
    heartbeatAt: 1_700_000_000_000 + i * 1000,
    endedAt: 1_700_000_000_000 + i * 1000 + 60_000,
    verdict: i % 10 === 0 ? 'failed' : 'passed',
    reason: 'all thresholds passed',
    exitCode: 0,
    script: 'digest-1',
    summary: {
      metrics: {
        ...Object.fromEntries(METRICS.map((m) => [m, trend()])),
        http_req_failed: { passes: 0, fails: 600, value: 0 },
        http_reqs: { count: 600, rate: 10 },
        iterations: { count: 600, rate: 10 },
        checks: { passes: 600, fails: 0, value: 1 },
        vus_max: { value: 10, min: 10, max: 10 },
      },
      thresholds: [
        { metric: 'http_req_duration', threshold: 'p(95)<300', passed: true },
        { metric: 'http_req_failed', threshold: 'rate<0.01', passed: true },
      ],
      comparison: null,
    },
    outputTail: 'x'.repeat(4096),
  };
}

// As the launch service writes them: the start, then the verdict with the summary and tail.
async function fill(store: Store) {
  for (let i = 0; i < RUNS; i++) {
    const r = record(i);
    await store.recordStart({
      ...r,
      endedAt: null,
      verdict: null,
      summary: null,
      outputTail: null,
    });
    await store.recordEnd(r.runId, {
      endedAt: r.endedAt as number,
      verdict: r.verdict,
      reason: r.reason as string,
      exitCode: r.exitCode,
      summary: r.summary,
      outputTail: r.outputTail,
    });
  }
}

async function timed(url: string, n = 20) {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function daemonOn(dbPath: string, name: string) {
  return startBenchDaemon({
    name,
    kind: 'k6gate',
    binary: K6GATE,
    child: DOUBLE,
    slots: 20,
    env: { STORE: `sqlite:${dbPath}` },
  });
}

// RSS with STREAMS followers of RUNNING runs under way (the k6 double held running).
async function withStreams(url: string, pid: number) {
  const runIds: string[] = [];
  for (let i = 0; i < RUNNING; i++) {
    const res = await fetch(`${url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: `live-${i}`,
        namespace: 'bench',
        phase: 'Progressing',
        checksum: 'live',
        metadata: { script: doubleScript('mode=pass duration=60s'), wait_for_results: 'false' },
      }),
    });
    runIds.push(res.headers.get('x-k6gate-run-id') ?? '');
  }
  const aborts: AbortController[] = [];
  let events = 0;
  for (let i = 0; i < STREAMS; i++) {
    const abort = new AbortController();
    aborts.push(abort);
    const res = await fetch(`${url}/api/v1/runs/${runIds[i % RUNNING]}/log`, {
      signal: abort.signal,
    });
    void (async () => {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return;
        events++;
      }
    })();
  }
  await Bun.sleep(5000); // a few progress lines reach every stream
  const rss = rssKiB(pid);
  for (const a of aborts) a.abort();
  return { rss, events };
}

const dir = mkdtempSync(join(tmpdir(), 'k6gate-bench-history-'));
try {
  const full = join(dir, 'full.db');
  const t0 = performance.now();
  const store = openSqliteStore(full, Date.now);
  await fill(store);
  await store.close();
  log(`wrote ${RUNS} runs in ${Math.round(performance.now() - t0)} ms`);

  const empty = await daemonOn(join(dir, 'empty.db'), 'empty');
  const filled = await daemonOn(full, 'filled');
  await Bun.sleep(1000);
  const idleEmpty = rssKiB(empty.pid);
  const idleFilled = rssKiB(filled.pid);
  const first = await timed(`${filled.url}/api/v1/runs?limit=50`);
  const canary = await timed(`${filled.url}/api/v1/runs?namespace=team-3&canary=app-3&limit=50`);
  const trend = await timed(`${filled.url}/api/v1/canaries/team-3/app-3`);
  const afterApi = rssKiB(filled.pid);
  const streams = await withStreams(filled.url, filled.pid);
  await empty.stop();
  await filled.stop();

  Bun.gc(true);
  const heap0 = process.memoryUsage().heapUsed;
  const memory = createMemoryStore();
  await fill(memory);
  Bun.gc(true);
  const memoryMiB = (process.memoryUsage().heapUsed - heap0) / 1048576;

  const mib = (kib: number) => (kib / 1024).toFixed(1);
  console.log(`\n## History: ${RUNS} stored runs, ${STREAMS} open log streams\n`);
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| idle RSS, empty SQLite store | ${mib(idleEmpty)} MiB |`);
  console.log(
    `| idle RSS, ${RUNS} runs in SQLite | ${mib(idleFilled)} MiB (${(idleFilled / idleEmpty).toFixed(2)}×) |`,
  );
  console.log(`| GET /api/v1/runs?limit=50 (median of 20) | ${first.toFixed(1)} ms |`);
  console.log(`| GET /api/v1/runs?namespace&canary (median) | ${canary.toFixed(1)} ms |`);
  console.log(`| GET /api/v1/canaries/{ns}/{name} (median) | ${trend.toFixed(1)} ms |`);
  console.log(`| RSS after those requests | ${mib(afterApi)} MiB |`);
  console.log(
    `| RSS with ${STREAMS} SSE streams on ${RUNNING} running tests | ${mib(streams.rss)} MiB (${(streams.rss / idleFilled).toFixed(2)}× idle; ${streams.events} chunks received) |`,
  );
  console.log(
    `| in-memory store: heap for ${RUNS} runs (output tails kept for the newest 1,000) | ${memoryMiB.toFixed(1)} MiB |`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
