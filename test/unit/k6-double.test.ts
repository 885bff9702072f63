// The k6 contract double behaves as k6's documented CLI contract says (so tests of the daemon
// against it mean something): banner, cloud URL forms, exit codes, signals, env report, load.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K6_DOUBLE, waitFor, zombieChildren } from '../helpers/daemon.ts';

let dir: string;
let target: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'k6gate-double-'));
  target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (r) =>
      new URL(r.url).pathname === '/broken'
        ? new Response('no', { status: 500 })
        : new Response('ok'),
  });
});
afterAll(async () => {
  target.stop(true);
  rmSync(dir, { recursive: true, force: true });
  expect(await zombieChildren()).toEqual([]);
});

let n = 0;
/** Starts `k6 run` on a script with stdout and stderr on one file, as the daemon does. */
function spawnDouble(source: string, opts: { args?: string[]; env?: Record<string, string> } = {}) {
  n++;
  const script = join(dir, `s${n}.js`);
  const logPath = join(dir, `s${n}.log`);
  writeFileSync(script, source);
  const fd = openSync(logPath, 'a');
  const proc = Bun.spawn([K6_DOUBLE, 'run', ...(opts.args ?? []), script], {
    stdout: fd,
    stderr: fd,
    detached: true,
    env: { PATH: process.env.PATH ?? '', ...opts.env },
  });
  closeSync(fd);
  return { proc, output: () => readFileSync(logPath, 'utf8') };
}
const directive = (d: string) => `// k6-double: ${d}\nexport default function () {}\n`;

describe('k6 double', () => {
  test('banner with `output: -`, summary, exit 0', async () => {
    const { proc, output } = spawnDouble(directive('mode=pass duration=0s'));
    expect(await proc.exited).toBe(0);
    expect(output()).toMatch(/^ {5}execution: local$/m);
    expect(output()).toMatch(/^ {8}output: -$/m);
    expect(output()).toContain('█ TOTAL RESULTS');
  });

  test.each([
    ['legacy', /output: cloud \(https:\/\/app\.k6\.io\/runs\/\d+\)/],
    ['grafana', /output: cloud \(https:\/\/[^/]+\.grafana\.net\/a\/k6-app\/runs\/\d+\)/],
  ])('--out cloud prints the %s cloud URL form', async (form, pattern) => {
    const { proc, output } = spawnDouble(directive(`mode=pass duration=0s cloud-url=${form}`), {
      args: ['--out', 'cloud'],
      env: { K6_CLOUD_TOKEN: 't' },
    });
    expect(await proc.exited).toBe(0);
    expect(output()).toMatch(pattern);
  });

  test('--out cloud without a token fails', async () => {
    const { proc } = spawnDouble(directive('mode=pass'), { args: ['--out', 'cloud'] });
    expect(await proc.exited).toBe(255);
  });

  test.each([
    ['fail-thresholds duration=0s', 99],
    ['exception', 107],
    ['abort duration=0s', 108],
    ['marked-failed duration=0s', 110],
    ['exit exit=3 duration=0s', 3],
    ['crash crash=early', 1],
  ])('mode=%s exits %d', async (d, code) => {
    const { proc } = spawnDouble(directive(`mode=${d}`));
    expect(await proc.exited).toBe(code);
  });

  test('unknown flags and a missing script exit 255', async () => {
    const p = Bun.spawn([K6_DOUBLE, 'run', '--bogus', 'x.js'], {
      stdout: 'ignore',
      stderr: 'ignore',
    });
    expect(await p.exited).toBe(255);
    const q = Bun.spawn([K6_DOUBLE, 'run', join(dir, 'missing.js')], {
      stdout: 'ignore',
      stderr: 'ignore',
    });
    expect(await q.exited).toBe(255);
  });

  test('SIGTERM: the summary is printed, then exit 105', async () => {
    const { proc, output } = spawnDouble(directive('mode=hang summary-delay=200ms'));
    await waitFor(() => output().includes('output:'));
    process.kill(-proc.pid, 'SIGTERM');
    expect(await proc.exited).toBe(105);
    expect(output()).toContain("test run was aborted because k6 received a 'terminated' signal");
    expect(output()).toContain('█ TOTAL RESULTS');
  });

  test('a second signal exits 105 at once, without the summary', async () => {
    const { proc, output } = spawnDouble(directive('mode=hang summary-delay=20s'));
    await waitFor(() => output().includes('output:'));
    process.kill(-proc.pid, 'SIGTERM');
    await Bun.sleep(200);
    process.kill(-proc.pid, 'SIGTERM');
    expect(await proc.exited).toBe(105);
    expect(output()).toContain('Aborting k6 in response to signal');
    expect(output()).not.toContain('█ TOTAL RESULTS');
  });

  test('ignore-sigterm survives SIGTERM until SIGKILL', async () => {
    const { proc, output } = spawnDouble(directive('mode=ignore-sigterm'));
    await waitFor(() => output().includes('output:'));
    process.kill(-proc.pid, 'SIGTERM');
    await Bun.sleep(500);
    expect(proc.exitCode).toBeNull();
    process.kill(-proc.pid, 'SIGKILL');
    await proc.exited;
    expect(proc.signalCode).toBe('SIGKILL');
  });

  test('flood writes the asked number of bytes', async () => {
    const { proc, output } = spawnDouble(directive(`mode=flood flood-bytes=${4 * 1024 * 1024}`));
    expect(await proc.exited).toBe(0);
    expect(output().length).toBeGreaterThan(4 * 1024 * 1024);
  });

  test('report-env: digests, never values; names only for *', async () => {
    const { proc, output } = spawnDouble(directive('mode=pass duration=0s report-env=FOO,NOPE'), {
      env: { FOO: 'secret-value' },
    });
    expect(await proc.exited).toBe(0);
    const digest = createHash('sha256').update('secret-value').digest('hex');
    expect(output()).toContain(`k6-double env FOO sha256=${digest}`);
    expect(output()).toContain('k6-double env NOPE unset');
    expect(output()).not.toContain('secret-value');
    const all = spawnDouble(directive('mode=pass duration=0s report-env=*'), { env: { FOO: 'x' } });
    expect(await all.proc.exited).toBe(0);
    expect(all.output()).toMatch(/k6-double env-names .*FOO/);
  });

  const load = (path: string) => `import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 2, iterations: 30, thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<1000'] } };
export default function () {
  const res = http.get(\`\${__ENV.TARGET}${path}\`);
  check(res, { 'is 200': (r) => r.status === 200 });
}
`;

  test('load mode: a healthy target passes with real requests', async () => {
    const { proc, output } = spawnDouble(load('/ok'), {
      env: { TARGET: `http://127.0.0.1:${target.port}` },
    });
    expect(await proc.exited).toBe(0);
    expect(output()).toMatch(/http_reqs\.+: 30/);
    expect(output()).toContain("✓ 'rate<0.01'");
  });

  test('load mode: a broken target crosses http_req_failed, exit 99', async () => {
    const { proc, output } = spawnDouble(load('/broken'), {
      env: { TARGET: `http://127.0.0.1:${target.port}` },
    });
    expect(await proc.exited).toBe(99);
    expect(output()).toContain("thresholds on metrics 'http_req_failed' have been crossed");
    expect(output()).toContain("✗ 'rate<0.01'");
  });

  test('load mode refuses a non-loopback target', async () => {
    const { proc, output } = spawnDouble(load('/'), { env: { TARGET: 'http://example.com' } });
    expect(await proc.exited).toBe(107);
    expect(output()).toContain('refuses non-loopback target');
  });

  test('load mode: a syntax error exits 107, a bad threshold 104', async () => {
    const bad = spawnDouble("import http from 'k6/http';\nexport default function( {\n");
    expect(await bad.proc.exited).toBe(107);
    const threshold = spawnDouble(
      "import http from 'k6/http';\nexport const options = { thresholds: { http_req_duration: ['p95 < 1'] } };\nexport default function () {}\n",
    );
    expect(await threshold.proc.exited).toBe(104);
  });
});
