// Remote write to Grafana Cloud or a multi-tenant Mimir: the compiled daemon with the token in a
// file and X-Scope-OrgID, each run's k6 (the double sends as k6's experimental-prometheus-rw
// output does) pushing to a receiver on loopback that checks the headers and decodes the
// snappy-compressed protobuf. The token never reaches a log line.

import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILED, flaggerPayload, postLaunch, startChildDaemon } from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';
import { decodeWriteRequest, type Series } from '../fixtures/remote-write.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-rw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Received {
  headers: Headers;
  series: Series[];
}

function receiver() {
  const got: Received[] = [];
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      if (new URL(request.url).pathname !== '/api/v1/push')
        return new Response('', { status: 404 });
      const body = new Uint8Array(await request.arrayBuffer());
      got.push({ headers: request.headers, series: decodeWriteRequest(body) });
      return new Response(null, { status: 204 });
    },
  });
  return { got, url: `http://127.0.0.1:${server.port}/api/v1/push`, server };
}

/** One passing run through the compiled daemon with remote write to a fresh receiver and
 * `args`: the answer, what the receiver got, and the daemon's logs. */
async function pushedRun(args: string[]) {
  const rw = receiver();
  try {
    await using d = await startChildDaemon({
      compiled: true,
      args: ['--prometheus-rw-url', rw.url, ...args],
    });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass duration=0s') }),
    );
    return { res, got: rw.got, logs: d.logs };
  } finally {
    await rw.server.stop(true);
  }
}

test('bearer token from a file and X-Scope-OrgID reach the receiver with the run tagged', async () => {
  const token = 'glc_rw-token-0123456789abcdef';
  writeFileSync(join(dir, 'rw-token'), `${token}\n`);
  const { res, got, logs } = await pushedRun([
    '--prometheus-rw-bearer-token-file',
    join(dir, 'rw-token'),
    '--prometheus-rw-headers',
    'X-Scope-OrgID:team-a, X-Extra: yes',
    '--prometheus-rw-native-histograms',
    'true',
  ]);
  expect(res.status).toBe(200);
  const runId = res.headers.get('x-k6gate-run-id');
  expect(got).toHaveLength(1);
  const [push] = got;
  expect(push!.headers.get('authorization')).toBe(`Bearer ${token}`);
  expect(push!.headers.get('x-scope-orgid')).toBe('team-a');
  expect(push!.headers.get('x-extra')).toBe('yes');
  expect(push!.headers.get('content-encoding')).toBe('snappy');
  const iterations = push!.series.find((s) => s.labels.__name__ === 'k6_iterations_total');
  expect(iterations?.labels.testid).toBe(`test/podinfo/${runId}`);
  expect(iterations?.samples[0]?.value).toBeGreaterThan(0);
  expect(Math.abs((iterations?.samples[0]?.timestamp ?? 0) - Date.now())).toBeLessThan(60_000);
  const failed = push!.series.find((s) => s.labels.__name__ === 'k6_http_req_failed_rate');
  expect(failed?.samples[0]?.value).toBe(0);
  expect(JSON.stringify(logs)).not.toContain(token);
}, 30_000);

test('basic auth (Grafana Cloud: instance ID and a token from a file)', async () => {
  writeFileSync(join(dir, 'rw-password'), 'glc_basic-secret\n');
  const { res, got } = await pushedRun([
    '--prometheus-rw-username',
    '123456',
    '--prometheus-rw-password-file',
    join(dir, 'rw-password'),
  ]);
  expect(res.status).toBe(200);
  expect(got[0]?.headers.get('authorization')).toBe(
    `Basic ${Buffer.from('123456:glc_basic-secret').toString('base64')}`,
  );
}, 30_000);

test('a bad header list or an unreadable token file: exit 2 naming the setting', () => {
  const bad = Bun.spawnSync([COMPILED, 'serve', '--prometheus-rw-headers', 'no-colon'], {
    env: { PATH: process.env.PATH ?? '' },
  });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain('--prometheus-rw-headers / PROMETHEUS_RW_HEADERS');
  const missing = Bun.spawnSync(
    [COMPILED, 'serve', '--prometheus-rw-bearer-token-file', join(dir, 'nope')],
    { env: { PATH: process.env.PATH ?? '' } },
  );
  expect(missing.exitCode).toBe(2);
  expect(missing.stderr.toString()).toContain(
    'invalid value for --prometheus-rw-bearer-token-file / PROMETHEUS_RW_BEARER_TOKEN_FILE: cannot read',
  );
});
