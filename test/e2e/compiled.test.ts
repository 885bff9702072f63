// End to end with the compiled binary (dist/k6gate) as a child process: a healthy canary
// passes, a broken one fails on thresholds; SIGTERM drains; --help and bad settings; the
// bytecode-order profile still covers a start.
// The same cases run against a real k6 when one is on PATH or in K6_BINARY.

import { orderCoverage } from '../helpers/bytecode-order.ts';
import { zombieChildren } from '../helpers/processes.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  COMPILED,
  flaggerPayload,
  K6_DOUBLE,
  postLaunch,
  REPO,
  startChildDaemon,
} from '../helpers/daemon.ts';

const realK6 = process.env.K6_BINARY || Bun.which('k6') || undefined;
if (!realK6) {
  console.log(
    'SKIP real-k6 lane: no k6 on PATH and K6_BINARY is not set (the k6 double lane runs)',
  );
}
if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run make build first`);

let target: ReturnType<typeof Bun.serve>;
let targetUrl: string;
beforeAll(() => {
  let n = 0;
  target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      n++;
      if (path === '/broken') return new Response('boom', { status: n % 2 ? 500 : 200 });
      return new Response('ok');
    },
  });
  targetUrl = `http://127.0.0.1:${target.port}`;
});
afterAll(() => target.stop(true));

const loadScript = (path: string) => `import http from 'k6/http';
export const options = {
  vus: 2,
  iterations: 40,
  thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<500'] },
};
export default function () {
  http.get(\`\${__ENV.TARGET}${path}\`);
}
`;

const lanes: [string, string][] = [['k6 double', K6_DOUBLE]];
if (realK6) lanes.push(['real k6', realK6]);

describe.each(lanes)('%s', (_lane, k6) => {
  test('healthy canary passes, broken canary fails with "thresholds"', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'k6gate-e2e-'));
    const d = await startChildDaemon({ compiled: true, env: { K6_BINARY: k6, TEMP_DIR: tempDir } });
    try {
      const env_vars = JSON.stringify({ TARGET: targetUrl });
      const healthy = await postLaunch(
        d.url,
        flaggerPayload({ script: loadScript('/healthy'), env_vars }, { name: 'healthy' }),
      );
      expect(healthy.status).toBe(200);
      const healthyBody = await healthy.text();
      expect(healthyBody).toMatch(/http_req_duration/);

      const broken = await postLaunch(
        d.url,
        flaggerPayload({ script: loadScript('/broken'), env_vars }, { name: 'broken' }),
      );
      expect(broken.status).toBe(400);
      const first = (await broken.text()).split('\n')[0];
      expect(first).toMatch(
        /^failed to run: exit status 99 \(thresholds crossed: .*http_req_failed/,
      );

      // The daemon's log comes on its own pipe, not with the answer: wait for the line.
      await d.waitForLog((r) => r.verdict === 'failed');
      const verdicts = d.logs.filter((r) => typeof r.verdict === 'string').map((r) => r.verdict);
      expect(verdicts).toEqual(['passed', 'failed']);
      expect(await d.stop()).toBe(0);
      expect(readdirSync(tempDir)).toEqual([]);
    } finally {
      await d.stop('SIGKILL');
      rmSync(tempDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the compiled daemon as a process', () => {
  test('SIGTERM drains: readiness 503, the run is stopped, temp dirs removed, exit 0', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'k6gate-e2e-'));
    const d = await startChildDaemon({
      compiled: true,
      env: { TEMP_DIR: tempDir, KILL_GRACE_PERIOD: '1500ms' },
    });
    try {
      // A child that ignores SIGTERM keeps the drain open for the grace period.
      const res = await postLaunch(
        d.url,
        flaggerPayload({
          script: '// k6-double: mode=ignore-sigterm\nexport default function () {}\n',
          wait_for_results: 'false',
        }),
      );
      expect(res.status).toBe(200);
      expect(readdirSync(tempDir)).toHaveLength(1);
      expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
      d.proc.kill('SIGTERM');
      await d.waitForLog((r) => r.msg === 'shutting down: draining runs');
      const draining = await fetch(`${d.url}/readyz`);
      expect(draining.status).toBe(503);
      expect(await draining.text()).toContain('shutting down');
      const refused = await postLaunch(
        d.url,
        flaggerPayload({ script: 'export default function () {}' }),
      );
      expect(refused.status).toBe(503);
      expect(await d.proc.exited).toBe(0);
      expect(d.logs.some((r) => r.msg === 'stopping k6' && r.reason === 'shutdown')).toBe(true);
      expect(d.logs.some((r) => r.msg.startsWith('k6 did not stop within the grace period'))).toBe(
        true,
      );
      expect(d.logs.some((r) => r.msg === 'shut down cleanly')).toBe(true);
      expect(readdirSync(tempDir)).toEqual([]);
      expect(zombieChildren()).toEqual([]);
    } finally {
      await d.stop('SIGKILL');
      rmSync(tempDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('as PID 1 (a container without an init) SIGTERM still drains and exits 0', async () => {
    const probe = Bun.spawnSync(['unshare', '--pid', '--fork', 'true'], { stderr: 'pipe' });
    if (probe.exitCode !== 0) {
      console.log(
        `SKIP PID 1 test: unshare --pid is not permitted here (${probe.stderr.toString().trim()})`,
      );
      return;
    }
    const d = await startChildDaemon({
      compiled: true,
      wrap: ['unshare', '--pid', '--fork', '--kill-child'],
    });
    try {
      // unshare's only child is the daemon, PID 1 in its namespace.
      const children = readFileSync(`/proc/${d.pid}/task/${d.pid}/children`, 'utf8').trim();
      const daemonPid = Number(children.split(' ')[0]);
      expect(daemonPid).toBeGreaterThan(0);
      const nsPid = /NSpid:\s+\d+\s+(\d+)/.exec(
        readFileSync(`/proc/${daemonPid}/status`, 'utf8'),
      )?.[1];
      expect(nsPid).toBe('1');
      const res = await postLaunch(
        d.url,
        flaggerPayload({
          script: '// k6-double: mode=pass duration=0s\nexport default function () {}\n',
        }),
      );
      expect(res.status).toBe(200);
      process.kill(daemonPid, 'SIGTERM');
      expect(await d.proc.exited).toBe(0);
      expect(d.logs.some((r) => r.msg === 'shut down cleanly')).toBe(true);
    } finally {
      await d.stop('SIGKILL');
    }
  }, 30_000);

  test('a client stalled mid-body does not hold shutdown past --shutdown-timeout', async () => {
    const d = await startChildDaemon({ compiled: true, args: ['--shutdown-timeout', '1s'] });
    const sock = connect(Number(new URL(d.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write(
      'POST /launch-test HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":',
    );
    sock.on('error', () => {});
    await Bun.sleep(200);
    const t0 = performance.now();
    const code = await d.stop('SIGTERM');
    const took = performance.now() - t0;
    sock.destroy();
    expect(code).toBe(0);
    expect(took).toBeLessThan(5000); // 1 s timeout, not the 30 s idle cut
    expect(
      d.logs.some(
        (r) => r.msg === 'connections still open after the shutdown timeout: closing them',
      ),
    ).toBe(true);
  }, 20_000);

  test('--help tells the truth and lists every variable of the README table', async () => {
    const proc = Bun.spawnSync([COMPILED, '--help']);
    expect(proc.exitCode).toBe(0);
    const help = proc.stdout.toString();
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const envInReadme = [...readme.matchAll(/^\| `(--[a-z0-9-]+)` \| `([A-Z0-9_]+)` \|/gm)];
    expect(envInReadme.length).toBeGreaterThan(10);
    for (const [, flag, env] of envInReadme) {
      expect(help).toContain(flag as string);
      expect(help).toContain(env as string);
    }
    const helpFlags = [...help.matchAll(/^ {2}(--[a-z0-9-]+) <value>/gm)].map((m) => m[1]);
    expect(helpFlags.sort()).toEqual(envInReadme.map((m) => m[1]).sort());
  });

  test('--version prints the version; a bad setting exits 2 before listening, naming it', () => {
    const version = Bun.spawnSync([COMPILED, '--version']);
    expect(version.exitCode).toBe(0);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    expect(version.stdout.toString()).toBe(`k6gate ${pkg.version}\n`); // one version everywhere
    const bad = Bun.spawnSync([COMPILED, 'serve'], {
      env: { PATH: process.env.PATH ?? '', MAX_CONCURRENT_TESTS: 'lots' },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain(
      'invalid value for --max-concurrent-tests / MAX_CONCURRENT_TESTS (from MAX_CONCURRENT_TESTS): "lots"',
    );
    const typo = Bun.spawnSync([COMPILED, 'serve'], {
      env: { PATH: process.env.PATH ?? '', KUBERNETES_CLIENT: 'in_cluster' },
    });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr.toString()).toContain('KUBERNETES_CLIENT');
  });

  test('a port another daemon holds: exit 1, "cannot listen", no shared socket', async () => {
    await using first = await startChildDaemon({ compiled: true });
    const port = first.url.split(':').at(-1) as string;
    const second = Bun.spawnSync(
      [COMPILED, 'serve', '--host', '127.0.0.1', '--listen-port', port],
      { env: { PATH: process.env.PATH ?? '', K6_BINARY: K6_DOUBLE }, timeout: 10_000 },
    );
    expect(second.exitCode).toBe(1);
    expect(second.stderr.toString()).toContain('cannot listen');
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  }, 30_000);

  test('a token file that does not exist turns its feature off with a warning; an unreadable one exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k6gate-tokens-'));
    try {
      // The chart mounts the tokens Secret as optional and names both files: a Secret with only
      // a Slack token (or none yet) must still start a daemon.
      await using d = await startChildDaemon({
        compiled: true,
        env: {
          SLACK_TOKEN_FILE: join(dir, 'slack-token'),
          K6_CLOUD_TOKEN_FILE: join(dir, 'k6-cloud-token'),
        },
      });
      for (const [flag, feature] of [
        ['--slack-token-file / SLACK_TOKEN_FILE', 'Slack notifications'],
        ['--cloud-token-file / K6_CLOUD_TOKEN_FILE', 'uploading to k6 Cloud'],
      ] as const) {
        const warned = d.logs.find((r) => String(r.msg).startsWith(flag));
        expect(warned?.level).toBe('warn');
        expect(String(warned?.msg)).toEndWith(`does not exist: ${feature} is off`);
      }
      expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
      const unreadable = Bun.spawnSync([COMPILED, 'serve'], {
        env: { PATH: process.env.PATH ?? '', SLACK_TOKEN_FILE: dir },
      });
      expect(unreadable.exitCode).toBe(2);
      expect(unreadable.stderr.toString()).toContain(
        `invalid value for --slack-token-file / SLACK_TOKEN_FILE: cannot read ${dir}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test('after the bad-input table the real daemon still answers /healthz', async () => {
    await using d = await startChildDaemon({ compiled: true });
    for (const body of ['', 'bad', '[]', '{}', '{"name":"a","namespace":"b","phase":"c"}']) {
      const res = await postLaunch(d.url, body);
      expect(res.status).toBe(400);
    }
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${d.url}/health`)).status).toBe(200);
  }, 30_000);
});

// `make build` lays out first the bytecode build/serve.order names (--bytecode-order): a start
// reads and decodes less of the binary (bench/README.md, "Session 16"). A profile that no longer
// matches the code still builds, just slower to start: this says when to record it again.
test('the bytecode-order profile covers most of what a start runs (else: make bytecode-order)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-e2e-order-'));
  try {
    const recorded = join(dir, 'start.order');
    const d = await startChildDaemon({
      compiled: true,
      env: { BUN_BYTECODE_ORDER_OUT: recorded, TEMP_DIR: dir },
    });
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
    expect(await d.stop()).toBe(0); // the profile is written at exit
    const { used, covered } = orderCoverage(recorded);
    expect(used).toBeGreaterThan(1000);
    expect(covered / used).toBeGreaterThan(0.8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
