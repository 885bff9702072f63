// The systemd unit (packaging/systemd): `systemd-analyze verify` clean, `systemd-analyze
// security` at "OK" or better, the sandbox and Delegate=yes the README promises, and an env
// file whose every variable is one k6gate reads. Under CI=true a missing systemd-analyze fails.

import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS } from '../../src/config/settings.ts';

const REPO = join(import.meta.dir, '../..');
const UNIT = readFileSync(join(REPO, 'packaging/systemd/k6gate.service'), 'utf8');
const ENV_FILE = readFileSync(join(REPO, 'packaging/systemd/k6gate.env'), 'utf8');
const analyze = Bun.which('systemd-analyze');
if (!analyze) {
  if (process.env.CI === 'true')
    throw new Error('systemd-analyze is missing (apt-get install systemd)');
  console.log('SKIP systemd-analyze checks: systemd-analyze is not installed');
}

/** The unit with ExecStart on the built binary (verify checks that it is executable). */
function unitHere(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-unit-'));
  const path = join(dir, 'k6gate.service');
  writeFileSync(
    path,
    UNIT.replace('ExecStart=/usr/bin/k6gate', `ExecStart=${join(REPO, 'dist/k6gate')}`),
  );
  return { dir, path };
}

describe.if(analyze !== null)('systemd unit', () => {
  test('systemd-analyze verify: no complaint', () => {
    const { dir, path } = unitHere();
    try {
      const out = Bun.spawnSync([analyze!, 'verify', path], { stderr: 'pipe' });
      expect(out.stderr.toString() + out.stdout.toString()).toBe('');
      expect(out.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('systemd-analyze security: exposure "OK" or better', () => {
    const { dir, path } = unitHere();
    try {
      const out = Bun.spawnSync([analyze!, 'security', '--offline=true', path], { stderr: 'pipe' });
      const text = out.stdout.toString();
      const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(text)?.[1]);
      console.log(`systemd-analyze security: exposure ${score}`);
      expect(score).toBeLessThanOrEqual(2.0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the sandbox the README promises, and per-run cgroups by delegation', () => {
  for (const line of [
    'User=k6gate',
    'Delegate=yes',
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'SystemCallFilter=@system-service',
    'Restart=on-failure',
    'EnvironmentFile=-/etc/k6gate/k6gate.env',
  ]) {
    expect(UNIT.split('\n')).toContain(line);
  }
  // Each credential the unit names is one k6gate finds by that name.
  const credentials = [...UNIT.matchAll(/^#?LoadCredential=([^:]+):/gm)].map((m) => m[1]);
  const known = SETTINGS.flatMap((s) => (s.credential ? [s.credential] : []));
  expect(credentials.length).toBeGreaterThan(2);
  expect(credentials.filter((c) => !known.includes(c!))).toEqual([]);
});

test('every variable of the env file, set or commented out, is a k6gate setting', () => {
  const vars = [...ENV_FILE.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
  expect(vars.length).toBeGreaterThan(4);
  const known = new Set(SETTINGS.map((s) => s.env));
  expect(vars.filter((v) => !known.has(v!))).toEqual([]);
});
