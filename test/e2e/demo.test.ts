// `make demo` as a new user runs it (scripts/demo.ts on the compiled binary): the healthy canary
// passes, the broken one fails on its thresholds, the slow one fails against its primary, the
// runs API lists all three, and the daemon stops cleanly.

import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { COMPILED, REPO } from '../helpers/daemon.ts';

test('make demo: three verdicts, the runs listed, exit 0', async () => {
  expect(Bun.file(COMPILED).size).toBeGreaterThan(0);
  const proc = Bun.spawn([join(REPO, 'node_modules/.bin/bun'), join(REPO, 'scripts/demo.ts')], {
    env: { PATH: process.env.PATH ?? '' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const plain = out.replaceAll('\u001b[1m', '').replaceAll('\u001b[0m', ''); // the bold steps
  expect(code).toBe(0);
  expect(plain).toContain(
    'demo OK: the healthy canary passed, the broken one failed, the slow one failed against its primary',
  );
  expect(plain).toMatch(
    /demo\/podinfo-slow: failed p95=[0-9.]+ms: worse than the baseline: http_req_duration p\(95\) .+ \(primary\)/,
  );
  expect(plain).toContain('demo/podinfo-broken: failed');
  expect(plain).toContain('demo/podinfo-healthy: passed');
  expect(plain).toContain('k6gate stopped on SIGTERM with exit code 0');
}, 60_000);
