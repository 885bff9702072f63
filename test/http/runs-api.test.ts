// The runs API on a real socket with the k6 double and an auth file: a running test listed
// first with its progress, its log followed over Server-Sent Events as k6 prints it and ending
// on the verdict, the same run by id; every answer checked against schemas/openapi.json; a
// client sees only its namespaces (another's run is a 404); Flagger's events on the timeline;
// the verdict endpoint an Argo Rollouts web metric reads.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { loadClientDirectory } from '../../src/auth/clients.ts';
import { Busy } from '../../src/core/errors.ts';
import { systemClock } from '../../src/core/clock.ts';
import {
  buildTestDaemon,
  createCapturingLogger,
  flaggerPayload,
  postLaunch,
  REPO,
  startInProcess,
} from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';
import { runRecord } from '../helpers/run-record.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-runs-api-'));
const openapi = JSON.parse(readFileSync(join(REPO, 'schemas/openapi.json'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', true);
ajv.addSchema({ $id: 'api', components: openapi.components });
const expectSchema = (name: string, body: unknown) => {
  const validate = ajv.getSchema(`api#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  void validate(body);
  expect(validate.errors ?? []).toEqual([]);
};

const A = { Authorization: 'Bearer team-a-token-0123' };
const B = { Authorization: 'Bearer team-b-token-0123' };
let d: ReturnType<typeof startInProcess>;
beforeAll(() => {
  const auth = join(dir, 'auth.yaml');
  writeFileSync(
    auth,
    [
      'clients:',
      '  - name: team-a',
      '    token: "team-a-token-0123"',
      '    namespaces: ["team-a"]',
      '  - name: team-b',
      '    token: "team-b-token-0123"',
      '    namespaces: ["team-b"]',
      '',
    ].join('\n'),
  );
  const clients = loadClientDirectory(auth, {
    clock: systemClock,
    logger: createCapturingLogger().logger,
  });
  d = startInProcess({ clients, args: ['--max-concurrent-tests', '4'] });
});
afterAll(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = A) =>
  fetch(`${d.url}${path}`, { headers: { Accept: 'application/json', ...headers } });

/** Starts a run without waiting for it (the answer comes at once); its run id. */
async function startAsync(directives: string, over: { namespace: string; checksum?: string }) {
  const res = await postLaunch(
    d.url,
    flaggerPayload(
      { script: doubleScript(directives), wait_for_results: 'false', min_failure_delay: '0' },
      { namespace: over.namespace, name: 'web', checksum: over.checksum ?? 'rev1' },
    ),
    { headers: { 'Content-Type': 'application/json', ...(over.namespace === 'team-a' ? A : B) } },
  );
  expect(res.status).toBe(200);
  return res.headers.get('x-k6gate-run-id') as string;
}

/** Reads a Server-Sent Events answer to its end: each event with when it arrived. */
async function readEvents(res: Response) {
  const events: { event: string; data: string; at: number }[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (event) events.push({ event, data, at: performance.now() });
    }
  }
  return events;
}

test('a running test: listed first with its progress, its log live over SSE, then its verdict', async () => {
  const runId = await startAsync('mode=pass duration=3s', { namespace: 'team-a' });
  const listed = (await (await get('/api/v1/runs')).json()) as { runs: any[]; next: unknown };
  expectSchema('RunList', listed);
  expect(listed.runs[0]).toMatchObject({ runId, state: 'running', namespace: 'team-a' });

  const opened = performance.now();
  const res = await get(`/api/v1/runs/${runId}/log`, { ...A, Accept: 'text/event-stream' });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events = await readEvents(res);
  const outputs = events.filter((e) => e.event === 'output');
  const text = outputs.map((e) => e.data).join('');
  expect(text).toContain('running (');
  expect(text).toContain('THRESHOLDS');
  // Lines came as k6 printed them, over seconds — not in one piece at the end.
  const spread = (outputs.at(-1)?.at ?? 0) - (outputs[0]?.at ?? 0);
  expect(outputs.length).toBeGreaterThanOrEqual(3);
  expect(spread).toBeGreaterThan(1000);
  const last = events.at(-1);
  expect(last?.event).toBe('verdict');
  const verdict = JSON.parse(last?.data ?? '{}');
  expectSchema('RunDetail', verdict);
  expect(verdict).toMatchObject({ runId, state: 'passed', exitCode: 0 });
  expect(performance.now() - opened).toBeGreaterThan(1000);

  const one = await get(`/api/v1/runs/${runId}`);
  const body = (await one.json()) as any;
  expectSchema('RunDetail', body);
  expect(body).toMatchObject({ runId, state: 'passed', reason: 'all thresholds passed' });
  expect(body.outputTail).toContain('THRESHOLDS');
  expect(body.thresholds.length).toBeGreaterThan(0);

  // An ended run's log: the stored tail, then the verdict.
  const again = await readEvents(await get(`/api/v1/runs/${runId}/log`));
  expect(again.map((e) => e.event)).toEqual(['output', 'verdict']);
}, 30_000);

test("a client sees only its namespaces: another team's run is a 404, its list leaves it out", async () => {
  const theirs = await startAsync('mode=pass duration=0s', { namespace: 'team-b' });
  const mine = await startAsync('mode=pass duration=0s', { namespace: 'team-a' });
  expect((await get(`/api/v1/runs/${theirs}`)).status).toBe(404);
  expect((await get(`/api/v1/runs/${theirs}/log`)).status).toBe(404);
  expect((await get(`/api/v1/runs/${theirs}`, B)).status).toBe(200);
  const ids = ((await (await get('/api/v1/runs?limit=500')).json()) as { runs: any[] }).runs.map(
    (r) => r.runId,
  );
  expect(ids).toContain(mine);
  expect(ids).not.toContain(theirs);
  expect((await get('/api/v1/verdict?namespace=team-b&canary=web')).status).toBe(404);
  expect((await get('/api/v1/canaries/team-b/web')).status).toBe(404);
  expect((await get('/api/v1/runs', {})).status).toBe(401);
  expect((await get('/', {})).status).toBe(401);
  expect((await get('/api/v1/runs?limit=0')).status).toBe(400);
  expect((await get('/api/v1/runs?verdict=maybe')).status).toBe(400);
  expect((await get('/api/v1/runs/%E0%A4%A')).status).toBe(404); // not percent-encoding: no 500
  expect((await get('/api/v1/canaries/team-a/NOT_A_NAME')).status).toBe(400);
  expect((await get('/api/v1/nothing')).status).toBe(404);
});

test('the verdict a web metric reads: running, then (waiting) passed; failed with its reason; none', async () => {
  const runId = await startAsync('mode=pass duration=2s', { namespace: 'team-a', checksum: 'v-1' });
  const q = '/api/v1/verdict?namespace=team-a&canary=web&checksum=v-1';
  const running = (await (await get(q)).json()) as any;
  expectSchema('Verdict', running);
  expect(running).toMatchObject({ status: 'running', run: { runId } });
  const waited = (await (await get(`${q}&wait=30s`)).json()) as any;
  expect(waited).toMatchObject({ status: 'passed', reason: 'all thresholds passed' });

  await startAsync('mode=fail-thresholds duration=0s', { namespace: 'team-a', checksum: 'v-2' });
  const failed = (await (
    await get('/api/v1/verdict?namespace=team-a&canary=web&checksum=v-2&wait=30s')
  ).json()) as any;
  expect(failed.status).toBe('failed');
  expect(failed.reason).toContain('thresholds crossed');

  const none = (await (
    await get('/api/v1/verdict?namespace=team-a&canary=web&checksum=never')
  ).json()) as any;
  expect(none).toEqual({
    status: 'none',
    reason: 'no run of this canary (revision, phase) yet',
    run: null,
  });
  expect((await get(`${q}&wait=2h`)).status).toBe(400);
}, 30_000);

test("Flagger's events land on the canary's timeline beside its runs", async () => {
  const event = (message: string, checksum: string) =>
    fetch(`${d.url}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...A },
      body: JSON.stringify({
        name: 'shop',
        namespace: 'team-a',
        phase: 'Progressing',
        checksum,
        metadata: { eventMessage: message, eventType: 'Normal', timestamp: '1' },
      }),
    });
  expect((await event('New revision detected! Scaling up shop.team-a', 'c1')).status).toBe(200);
  expect((await event('Starting canary analysis for shop.team-a', 'c1')).status).toBe(200);
  const other = await fetch(`${d.url}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...B },
    body: JSON.stringify({ name: 'shop', namespace: 'team-a', metadata: { eventMessage: 'x' } }),
  });
  expect(other.status).toBe(403);
  const bad = await fetch(`${d.url}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...A },
    body: JSON.stringify({ name: 'shop', namespace: 'team-a', metadata: {} }),
  });
  expect(bad.status).toBe(400);

  const res = await postLaunch(
    d.url,
    flaggerPayload(
      { script: doubleScript('mode=pass duration=0s') },
      { namespace: 'team-a', name: 'shop', checksum: 'c1' },
    ),
    { headers: { 'Content-Type': 'application/json', ...A } },
  );
  expect(res.status).toBe(200);
  const canary = (await (await get('/api/v1/canaries/team-a/shop')).json()) as any;
  expectSchema('Canary', canary);
  expect(canary.timeline).toHaveLength(1);
  expect(canary.timeline[0].checksum).toBe('c1');
  expect(canary.timeline[0].events.map((e: any) => e.message)).toEqual([
    'Starting canary analysis for shop.team-a',
    'New revision detected! Scaling up shop.team-a',
  ]);
  expect(canary.timeline[0].runs[0]).toMatchObject({ state: 'passed', checksum: 'c1' });
});

test('the OpenAPI document is served and describes every route the API has', async () => {
  const res = await fetch(`${d.url}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  const served = await res.json();
  expect(served).toEqual(openapi);
  expect(Object.keys(openapi.paths).sort()).toEqual([
    '/api/v1/canaries/{namespace}/{name}',
    '/api/v1/openapi.json',
    '/api/v1/runs',
    '/api/v1/runs/{id}',
    '/api/v1/runs/{id}/log',
    '/api/v1/verdict',
    '/events',
  ]);
});

test('held requests are capped: one more log stream than allowed is a 429, a closed one frees its place', async () => {
  const { runsHandler } = await import('../../src/http/runs.ts');
  // The runs routes' handler alone, over a daemon's readers, with room for one held request.
  const { daemon } = buildTestDaemon({});
  const handle = runsHandler({
    ...daemon.history,
    clients: undefined,
    allowedNamespaces: [],
    logger: createCapturingLogger().logger,
    maxHeld: 1,
  });
  // A run the capped app's store knows, still running (at another replica, as it reads).
  await daemon.store.recordStart(
    runRecord({ runId: 'held-1', name: 'held', startedAt: Date.now(), heartbeatAt: Date.now() }),
  );
  const abort = new AbortController();
  const url = 'http://k6gate/api/v1/runs/held-1/log';
  const get = (request: Request) => handle({ request, server: null });
  const first = await get(new Request(url, { signal: abort.signal }));
  expect(first.status).toBe(200);
  const second = await get(new Request(url)).catch((err: unknown) => err as Busy);
  expect(second).toBeInstanceOf(Busy); // answered 429 with Retry-After by the error renderer
  expect((second as Busy).headers()).toEqual({ 'Retry-After': '5' });
  abort.abort();
  await first.body?.cancel();
  await Bun.sleep(50);
  await daemon.store.recordEnd('held-1', {
    endedAt: Date.now(),
    verdict: 'passed',
    reason: 'ok',
    exitCode: 0,
  });
  const third = await get(new Request(url));
  expect(third.status).toBe(200);
  expect(await third.text()).toContain('event: verdict');
});
