// The trust boundary on a real socket, driven the way Flagger calls: Basic auth from the webhook
// URL's userinfo; plus the HTTP edges (JSON only, bodies over the limit, clients gone mid-body).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientDirectory } from '../../src/auth/clients.ts';
import { systemClock } from '../../src/core/clock.ts';
import {
  createCapturingLogger,
  flaggerPayload,
  startInProcess,
  waitFor,
} from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';

const TOKEN = 'team-a-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'k6gate-trust-'));
const authFile = join(dir, 'auth.yaml');
writeFileSync(
  authFile,
  `clients:\n  - name: team-a\n    token: "${TOKEN}"\n    namespaces: ["team-a", "team-a-*"]\n`,
);
let d: ReturnType<typeof startInProcess>;
let host: string;

beforeAll(() => {
  const clients = loadClientDirectory(authFile, {
    clock: systemClock,
    logger: createCapturingLogger().logger,
  });
  d = startInProcess({ clients, args: ['--max-body-bytes', '4096'] });
  host = d.url.replace('http://', '');
});
afterAll(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const pass = (namespace: string) =>
  JSON.stringify(flaggerPayload({ script: doubleScript('mode=pass duration=0s') }, { namespace }));
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

describe('callers (auth file)', () => {
  test("Flagger's way: http://team-a:<token>@k6gate/launch-test runs the test", async () => {
    const res = await post(`http://team-a:${TOKEN}@${host}/launch-test`, pass('team-a'));
    expect(res.status).toBe(200);
    expect(d.records.some((r) => r.msg === 'launched k6' && r.client === 'team-a')).toBe(true);
  });
  test('Bearer works too', async () => {
    const res = await post(`${d.url}/launch-test`, pass('team-a-dev'), {
      Authorization: `Bearer ${TOKEN}`,
    });
    expect(res.status).toBe(200);
  });
  test.each([
    ['no credentials', `http://${'HOST'}/launch-test`],
    ['wrong token', `http://team-a:wrong-token-0123456789@HOST/launch-test`],
    ['right token, wrong name', `http://team-b:${TOKEN}@HOST/launch-test`],
  ])('%s → 401 with a Basic challenge, no run', async (_what, url) => {
    const res = await post(url.replace('HOST', host), pass('team-a'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="k6gate", charset="UTF-8"');
    expect(await res.text()).toStartWith('authentication required');
  });
  test("a canary outside the client's namespaces → 403 naming the namespace", async () => {
    const res = await post(`http://team-a:${TOKEN}@${host}/launch-test`, pass('team-b'));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(
      'error while authorizing request: namespace: client "team-a" may not run tests for namespace "team-b"\n',
    );
  });
  test('health, readiness and metrics stay open; tokens never reach a log line', async () => {
    for (const path of ['/health', '/healthz', '/metrics'])
      expect((await fetch(`${d.url}${path}`)).status).toBe(200);
    expect(d.lines.join('')).not.toContain(TOKEN);
  });
});

describe('HTTP edges', () => {
  const auth = { Authorization: `Bearer ${TOKEN}` };
  test('only application/json bodies: a text/plain post (a cross-origin form) gets 415', async () => {
    const res = await fetch(`${d.url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', ...auth },
      body: pass('team-a'),
    });
    expect(res.status).toBe(415);
    expect(await res.text()).toBe('expected Content-Type: application/json (as Flagger sends)\n');
  });
  test('application/json with a charset is fine', async () => {
    const res = await post(`${d.url}/launch-test`, pass('team-a'), {
      ...auth,
      'Content-Type': 'application/json; charset=utf-8',
    });
    expect(res.status).toBe(200);
  });
  test('an oversized chunked body → 413, not a 500', async () => {
    const big = new TextEncoder().encode('x'.repeat(2048));
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(big);
        c.close();
      },
    });
    const res = await fetch(`${d.url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth },
      body,
    });
    expect(res.status).toBe(413);
    expect(d.records.filter((r) => r.msg === 'internal error')).toEqual([]);
  });
  test('a host under four characters (a Service named k6) reaches the same routes', async () => {
    const port = Number(d.url.split(':').at(-1));
    const ask = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1', () => sock.end(`${head}Host: k6\r\n\r\n`));
        let got = '';
        sock.on('data', (b) => (got += b.toString()));
        sock.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
        sock.on('error', reject);
      });
    const auth = `Authorization: Bearer ${TOKEN}\r\nConnection: close\r\n`;
    // Through Elysia's router: a wildcard route, a trailing slash, another method.
    expect(await ask(`GET /api/v1/runs HTTP/1.1\r\n${auth}`)).toBe('HTTP/1.1 200 OK');
    expect(await ask(`POST /launch-test/ HTTP/1.1\r\n${auth}Content-Length: 0\r\n`)).toMatch(
      /^HTTP\/1\.1 4(00|15)/,
    );
    expect(await ask(`GET /launch-test/ HTTP/1.1\r\n${auth}`)).toBe(
      'HTTP/1.1 405 Method Not Allowed',
    );
    expect(await ask(`GET /no-such-page HTTP/1.1\r\n${auth}`)).toBe('HTTP/1.1 404 Not Found');
  });

  test('a client gone mid-body is logged at debug, never as an internal error or a 500', async () => {
    const before = d.records.length;
    await new Promise<void>((resolve) => {
      const sock = connect(Number(d.url.split(':').at(-1)), '127.0.0.1', () => {
        sock.write(
          `POST /launch-test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`,
        );
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 100);
      });
    });
    await waitFor(() => d.records.slice(before).some((r) => r.msg === 'launch request done'), 5000);
    const fresh = d.records.slice(before);
    expect(fresh.filter((r) => r.level === 'error')).toEqual([]);
    expect(fresh.find((r) => r.msg === 'launch request done')?.status).not.toBe(500);
  });
});
