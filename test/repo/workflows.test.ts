// The CI and release workflows (they run where the project is public, not here): actionlint
// (built from its Go module by scripts/tools) finds nothing; every make target and script they
// call exists here, so each step runs locally up to where the real k6 or a cluster is needed.

import { expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/daemon.ts';

const DIR = join(REPO, '.github/workflows');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yml'));
const text = files.map((f) => readFileSync(join(DIR, f), 'utf8')).join('\n');
const actionlint = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'actionlint'], {
  env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
})
  .stdout.toString()
  .trim();
if (!actionlint) console.log('SKIP actionlint: not built (bash scripts/tools actionlint)');

test('ci.yml and release.yml exist', () => {
  expect(files.sort()).toEqual(['ci.yml', 'release.yml']);
});

test.skipIf(!actionlint)('actionlint finds nothing', () => {
  const out = Bun.spawnSync([actionlint, '-color=false', ...files.map((f) => join(DIR, f))]);
  expect(out.stdout.toString() + out.stderr.toString()).toBe('');
  expect(out.exitCode).toBe(0);
  // The check has teeth: a job without runs-on is an error.
  const bad = Bun.spawnSync([actionlint, '-color=false', '-'], {
    stdin: Buffer.from('on: push\njobs:\n  x:\n    steps:\n      - run: echo\n'),
  });
  expect(bad.exitCode).not.toBe(0);
});

test('every make target and script the workflows call is here', () => {
  const makefile = readFileSync(join(REPO, 'Makefile'), 'utf8');
  const targets = [...text.matchAll(/run: make ([a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
  expect(targets.length).toBeGreaterThan(1);
  for (const t of new Set(targets)) expect(makefile).toMatch(new RegExp(`^${t}:`, 'm'));
  const scripts = [...text.matchAll(/bash ((?:scripts|\.ci)\/[\w/.-]+)/g)].map((m) => m[1]!);
  expect(scripts.length).toBeGreaterThan(2);
  for (const s of new Set(scripts)) {
    expect(statSync(join(REPO, s)).isFile()).toBe(true);
    expect(Bun.spawnSync(['bash', '-n', join(REPO, s)]).exitCode).toBe(0);
  }
});

test('every action is pinned by commit, with its version beside it; the release waits for CI', () => {
  const uses = [...text.matchAll(/uses: (\S+)(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
  expect(uses.length).toBeGreaterThan(10);
  const remote = uses.filter(([ref]) => !ref.startsWith('./'));
  const unpinned = remote.filter(
    ([ref, comment]) => !/@[0-9a-f]{40}$/.test(ref) || !/^# v\d+\.\d+\.\d+$/.test(comment),
  );
  expect(unpinned).toEqual([]);
  const release = readFileSync(join(DIR, 'release.yml'), 'utf8');
  expect(release).toContain('uses: ./.github/workflows/ci.yml');
  expect(release).toMatch(/release:\n\s+needs: ci/);
  // Keyless signatures and attestations need the workflow's OIDC token, for the release job only.
  expect(release).toContain('id-token: write');
  for (const what of [
    'cosign sign-blob',
    'cosign sign --yes',
    'sbom: true',
    'provenance: mode=max',
  ]) {
    expect(release).toContain(what);
  }
});
