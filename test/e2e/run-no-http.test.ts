// `k6gate run` builds the engine and never the HTTP app: run from source under a Bun plugin that
// fails any load of src/http/ or of Elysia, a run passes; the same guard stops `k6gate serve`
// (the control, so the guard is known to bite).

import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K6_DOUBLE, REPO } from '../helpers/daemon.ts';
import { collect, doubleScript } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-no-http-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GUARD = join(dir, 'guard.ts');
writeFileSync(
  GUARD,
  `Bun.plugin({
  name: 'no-http',
  setup(build) {
    build.onLoad({ filter: /(\\/src\\/http\\/|\\/node_modules\\/elysia\\/)/ }, (args) => {
      process.stderr.write('HTTP LOADED: ' + args.path + '\\n');
      process.exit(70);
    });
  },
});
`,
);

function k6gate(args: string[]) {
  const proc = Bun.spawn(
    [join(REPO, 'node_modules/.bin/bun'), '--preload', GUARD, join(REPO, 'src/main.ts'), ...args],
    {
      env: { PATH: process.env.PATH ?? '', K6_BINARY: K6_DOUBLE, TEMP_DIR: dir },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    },
  );
  return collect(proc);
}

test('k6gate run passes without loading src/http or Elysia', async () => {
  const script = join(dir, 'pass.js');
  writeFileSync(script, doubleScript('mode=pass duration=200ms'));
  const r = await k6gate(['run', script]);
  expect(r.stderr).not.toContain('HTTP LOADED');
  expect(r.code).toBe(0);
  expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('k6gate: passed: all thresholds passed');
}, 30_000);

test('the guard bites: k6gate serve loads the HTTP app', async () => {
  const r = await k6gate(['serve', '--listen-port', '0', '--host', '127.0.0.1']);
  expect(r.code).toBe(70);
  expect(r.stderr).toContain('HTTP LOADED');
}, 30_000);
