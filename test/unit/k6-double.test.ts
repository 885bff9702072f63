// The k6 contract double behaves as k6's documented CLI contract says (so tests of the daemon
// against it mean something): banner, cloud URL forms, exit codes, signals, env report, load.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K6_DOUBLE, REPO, waitFor } from '../helpers/daemon.ts';
import { doubleScript, zombieChildren } from '../helpers/processes.ts';

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
        : new URL(r.url).pathname === '/slow'
          ? Bun.sleep(300).then(() => new Response('slow'))
          : new Response('ok'),
  });
});
afterAll(async () => {
  await target.stop(true);
  rmSync(dir, { recursive: true, force: true });
  expect(zombieChildren()).toEqual([]);
});

let n = 0;
/** Starts `k6 run` on a script with stdout and stderr on one file, as the daemon does. */
function spawnDouble(
  source: string,
  opts: { args?: string[]; env?: Record<string, string>; file?: string } = {},
) {
  n++;
  const script = opts.file ?? join(dir, `s${n}.js`);
  const logPath = join(dir, `s${n}.log`);
  if (!opts.file) writeFileSync(script, source);
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
const directive = doubleScript;

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
  /** Runs the double with stdout and stderr apart, for checks of which stream a line is on. */
  async function runSplit(args: string[], env: Record<string, string> = {}) {
    const p = Bun.spawn([K6_DOUBLE, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { stdout, stderr, code };
  }
  const scriptFile = (source: string) => {
    const file = join(dir, `split${++n}.js`);
    writeFileSync(file, source);
    return file;
  };

  test('version, usage, and which stream each line is on', async () => {
    const v = await runSplit(['version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^k6 v2\.2\.0-double \(.+\)\n$/);
    const help = await runSplit([]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage:');
    const run = await runSplit(['run', scriptFile(directive('mode=fail-thresholds duration=0s'))]);
    expect(run.code).toBe(99);
    expect(run.stdout).toContain('Grafana   /‾‾/');
    expect(run.stdout).toMatch(
      /^ {5}scenarios: \(100\.00%\) 1 scenario, 1 max VUs, .+ max duration \(incl\. graceful stop\):$/m,
    );
    expect(run.stdout).toContain("✗ 'p(95)<200'");
    expect(run.stdout).not.toContain('level=');
    expect(run.stderr).toMatch(
      /^time="[^"]+" level=error msg="thresholds on metrics 'http_req_duration' have been crossed"$/m,
    );
    const bad = await runSplit(['run', '--no-such-flag', 'x.js']);
    expect(bad.code).toBe(255);
    expect(bad.stderr).toContain('level=error msg="unknown flag: --no-such-flag"');
  }, 15_000);

  test('--quiet hides the banner and the output: line (as k6 does), not the summary', async () => {
    const { proc, output } = spawnDouble(directive('mode=pass duration=0s'), { args: ['-q'] });
    expect(await proc.exited).toBe(0);
    expect(output()).not.toContain('output:');
    expect(output()).not.toContain('Grafana');
    expect(output()).toContain('█ TOTAL RESULTS');
  }, 10_000);

  test('cloud URL: K6_CLOUD_WEB_APP_URL, -o cloud with another output, and cloud-url=none', async () => {
    const web = spawnDouble(directive('mode=pass duration=0s'), {
      args: ['-o', 'cloud', '-o', 'json=/dev/null'],
      env: { K6_CLOUD_TOKEN: 't', K6_CLOUD_WEB_APP_URL: 'https://acme.grafana.net/a/k6-app' },
    });
    expect(await web.proc.exited).toBe(0);
    expect(web.output()).toMatch(
      /^ {8}output: cloud \(https:\/\/acme\.grafana\.net\/a\/k6-app\/runs\/\d+\), json \(\/dev\/null\)$/m,
    );
    const none = spawnDouble(directive('mode=pass duration=0s cloud-url=none'), {
      args: ['--out=cloud'],
      env: { K6_CLOUD_TOKEN: 't' },
    });
    expect(await none.proc.exited).toBe(0);
    expect(none.output()).toMatch(/^ {8}output: cloud$/m);
  }, 10_000);

  test.each([
    ['mode=crash crash=no-banner exit=7', 7, false],
    ['mode=exception', 107, false],
    ['mode=exception exception-at=setup', 107, true],
    ['mode=nonsense', 104, false],
    ['mode=pass bogus=1', 104, false],
    ['mode=pass duration=soon', 104, false],
  ])(
    '%s exits %d (output: line printed: %p)',
    async (d, code, banner) => {
      const { proc, output } = spawnDouble(directive(d));
      expect(await proc.exited).toBe(code);
      expect(output().includes('output:')).toBe(banner);
    },
    10_000,
  );

  test('crash=signal: the double kills itself after the banner', async () => {
    const { proc, output } = spawnDouble(directive('mode=crash crash=signal duration=0s'));
    await proc.exited;
    expect(proc.signalCode).toBe('SIGKILL');
    expect(output()).toContain('output: -');
  }, 10_000);

  test('slow-start delays the output: line; K6_DOUBLE_* overrides a directive', async () => {
    const t0 = performance.now();
    const { proc, output } = spawnDouble(directive('mode=hang'), {
      env: {
        K6_DOUBLE_MODE: 'slow-start',
        K6_DOUBLE_START_DELAY: '400ms',
        K6_DOUBLE_DURATION: '0s',
      },
    });
    expect(await proc.exited).toBe(0);
    expect(performance.now() - t0).toBeGreaterThan(400);
    expect(output()).toContain('output: -');
  }, 10_000);

  test('report-argv shows the argv with -e values hashed', async () => {
    const { proc, output } = spawnDouble(directive('mode=pass duration=0s report-argv=true'), {
      args: ['--out', 'json=x.json', '-e', 'SECRET=hunter2', '--tag', 'a=b'],
    });
    expect(await proc.exited).toBe(0);
    const line = /^k6-double argv (.+)$/m.exec(output())?.[1] ?? '[]';
    const argv = JSON.parse(line) as string[];
    expect(argv.slice(0, 5)).toEqual([
      'run',
      '--out',
      'json=x.json',
      '-e',
      expect.stringMatching(/^SECRET=sha256:[0-9a-f]{64}$/),
    ]);
    expect(output()).not.toContain('hunter2');
  }, 10_000);

  test('--summary-export writes the legacy JSON summary (thresholds: true = failed)', async () => {
    const file = join(dir, 'summary.json');
    const { proc } = spawnDouble(load('/broken'), {
      args: ['--summary-export', file],
      env: { TARGET: `http://127.0.0.1:${target.port}` },
    });
    expect(await proc.exited).toBe(99);
    const summary = JSON.parse(readFileSync(file, 'utf8')) as {
      metrics: Record<string, { thresholds?: Record<string, boolean>; passes?: number }>;
    };
    expect(summary.metrics.http_req_failed?.thresholds).toEqual({ 'rate<0.01': true });
    expect(summary.metrics.http_req_failed?.passes).toBe(30);
    expect(summary.metrics.http_req_duration?.thresholds).toEqual({ 'p(95)<1000': false });
  }, 15_000);

  test.each([
    ['load-healthy.js', 0, /✓ 'rate<0\.01' rate=0\.00%/],
    ['load-broken.js', 99, /thresholds on metrics 'http_req_failed' have been crossed/],
  ])(
    'sample script %s against a loopback target exits %d',
    async (file, code, pattern) => {
      const { proc, output } = spawnDouble('', {
        file: join(REPO, 'test/fixtures/scripts', file),
        env: { TARGET: `http://127.0.0.1:${target.port}` },
      });
      expect(await proc.exited).toBe(code);
      expect(output()).toMatch(pattern);
      expect(output()).toMatch(
        /^running \(0m0\d\.\ds\), \d\/2 VUs, \d+ complete and 0 interrupted iterations$/m,
      );
    },
    15_000,
  );

  test('load mode: a slow target crosses http_req_duration (p(95)), exit 99', async () => {
    const { proc, output } = spawnDouble(
      `import http from 'k6/http';
export const options = { vus: 2, iterations: 4, thresholds: { http_req_duration: ['p(95)<200'] } };
export default function () { http.get(\`\${__ENV.TARGET}/slow\`); }
`,
      { args: ['-e', `TARGET=http://127.0.0.1:${target.port}`] },
    );
    expect(await proc.exited).toBe(99);
    expect(output()).toContain("thresholds on metrics 'http_req_duration' have been crossed");
    expect(output()).toMatch(/✗ 'p\(95\)<200' p\(95\)=3\d\d(\.\d+)?ms/);
  }, 15_000);

  test('load mode: checks see real responses, test.abort() exits 108, abortOnFail stops early', async () => {
    const env = { TARGET: `http://127.0.0.1:${target.port}` };
    const checks = spawnDouble(
      `import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 3, thresholds: { checks: ['rate==1'] } };
export default function () { check(http.get(\`\${__ENV.TARGET}/broken\`), { 'is 500': (r) => r.status === 500, 'body': (r) => r.body === 'no' }); }
`,
      { env },
    );
    expect(await checks.proc.exited).toBe(0);
    expect(checks.output()).toContain('checks_succeeded');
    expect(checks.output()).toContain('100.00% 6 out of 6');
    const abort = spawnDouble(
      `import http from 'k6/http';
import exec from 'k6/execution';
export const options = { iterations: 50 };
export default function () { http.get(\`\${__ENV.TARGET}/ok\`); if (__ITER === 2) exec.test.abort('enough'); }
`,
      { env },
    );
    expect(await abort.proc.exited).toBe(108);
    expect(abort.output()).toContain('level=error msg="test aborted: enough"');
    const t0 = performance.now();
    const early = spawnDouble(
      `import http from 'k6/http';
export const options = { vus: 1, duration: '20s', thresholds: { http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] } };
export default function () { http.get(\`\${__ENV.TARGET}/broken\`); }
`,
      { env },
    );
    expect(await early.proc.exited).toBe(99);
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(early.output()).toContain(
      "thresholds on metrics 'http_req_failed' were crossed; at least one has abortOnFail enabled, stopping test prematurely",
    );
  }, 30_000);

  test('load mode: SIGTERM stops the traffic, prints the summary with real counts, exits 105', async () => {
    const { proc, output } = spawnDouble(
      `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '30s' };
export default function () { http.get(\`\${__ENV.TARGET}/ok\`); sleep(0.05); }
`,
      { env: { TARGET: `http://127.0.0.1:${target.port}` } },
    );
    await waitFor(() => output().includes('running ('));
    process.kill(-proc.pid, 'SIGTERM');
    expect(await proc.exited).toBe(105);
    expect(output()).toMatch(/http_reqs\.+: [1-9]\d* /);
    expect(output()).toContain("test run was aborted because k6 received a 'terminated' signal");
  }, 15_000);

  test('load mode: a throw in the default function is logged, the run goes on', async () => {
    const { proc, output } = spawnDouble(
      `import http from 'k6/http';
export const options = { iterations: 2 };
export default function () { http.get(\`\${__ENV.TARGET}/ok\`); throw new Error('oops'); }
`,
      { env: { TARGET: `http://127.0.0.1:${target.port}` } },
    );
    expect(await proc.exited).toBe(0);
    expect(output()).toContain('msg="Error: oops');
    expect(output()).toContain('source=stacktrace');
  }, 10_000);

  test('load mode: a redirect off loopback is refused, a request in init is an exception', async () => {
    const redirect = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: () => Response.redirect('http://example.com/', 302),
    });
    try {
      const away = spawnDouble(load('/'), { env: { TARGET: `http://127.0.0.1:${redirect.port}` } });
      expect(await away.proc.exited).toBe(107);
      expect(away.output()).toContain('refuses non-loopback target');
      expect(away.output()).toContain('(http://example.com/)');
    } finally {
      await redirect.stop(true);
    }
    const init = spawnDouble(
      "import http from 'k6/http';\nhttp.get('http://127.0.0.1:1/');\nexport default function () {}\n",
    );
    expect(await init.proc.exited).toBe(107);
    expect(init.output()).toContain('Making http requests in the init context is not supported');
  }, 15_000);
});
