// The .deb and .rpm (scripts/package.sh, nfpm): lintian finds no error in the .deb; `dpkg -i`
// installs the binary, the unit, the settings file (group k6gate) and the user; `k6gate
// --version` runs; `dpkg --purge` leaves no file, user or group behind. Root and dpkg only
// (Debian); skipped, loudly, on a machine that has its own k6gate installed.

import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILED, REPO } from '../helpers/daemon.ts';

const sh = (cmd: string[], env?: Record<string, string>) => {
  const out = Bun.spawnSync(cmd, {
    stderr: 'pipe',
    cwd: REPO,
    env: env ? { ...process.env, ...env } : undefined,
  });
  return { code: out.exitCode, out: out.stdout.toString(), err: out.stderr.toString() };
};
const installed = () => sh(['dpkg', '-s', 'k6gate']).code === 0;
const userExists = () => sh(['getent', 'passwd', 'k6gate']).code === 0;
const why =
  process.getuid?.() !== 0
    ? 'not root'
    : !Bun.which('dpkg')
      ? 'no dpkg (not Debian)'
      : installed() || userExists()
        ? 'this machine has a k6gate package or user of its own'
        : undefined;
if (why) {
  if (process.env.CI === 'true' && why !== 'not root')
    throw new Error(`package test cannot run: ${why}`);
  console.log(`SKIP package test: ${why}`);
}

const out = mkdtempSync(join(tmpdir(), 'k6gate-pkg-'));
afterAll(() => {
  if (installed()) sh(['dpkg', '--purge', 'k6gate']);
  rmSync(out, { recursive: true, force: true });
});

test.skipIf(why !== undefined)(
  '.deb: lintian clean of errors, installs, runs, purges without leftovers',
  () => {
    const built = sh(['bash', 'scripts/package.sh', 'amd64', COMPILED, out, '0.0.0-test']);
    expect(built.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(
      [
        'RELEASE-NOTES.md',
        'k6gate-0.0.0~test-1.x86_64.rpm',
        'k6gate_0.0.0~test-1_amd64.deb',
      ].sort(),
    );
    // The changelog (chglog, from git): the release's notes and the .deb's, with HEAD's subject.
    const head = sh(['git', 'log', '-1', '--format=%s']).out.trim();
    const notes = readFileSync(join(out, 'RELEASE-NOTES.md'), 'utf8');
    expect(notes).toContain(head.slice(0, 60));
    const deb = join(out, 'k6gate_0.0.0~test-1_amd64.deb');

    const lintian = sh(['bash', 'scripts/tools', 'lintian']);
    expect(lintian.code).toBe(0);
    // lintian leaves its scratch files (mldbm-elf-*) in TMPDIR: one removed with `out`.
    const scratch = join(out, 'lintian-tmp');
    mkdirSync(scratch);
    const report = sh([lintian.out.trim(), '--tag-display-limit', '0', deb], { TMPDIR: scratch });
    console.log(`lintian: ${report.out.trim().split('\n').length} warnings, no errors`);
    expect(report.out.split('\n').filter((l) => l.startsWith('E:'))).toEqual([]);

    const install = sh(['dpkg', '-i', deb]);
    expect(install.err).toBe('');
    expect(install.code).toBe(0);
    const files = sh(['dpkg', '-L', 'k6gate']).out.split('\n');
    for (const path of [
      '/usr/bin/k6gate',
      '/usr/lib/systemd/system/k6gate.service',
      '/etc/k6gate/k6gate.env',
      '/usr/share/doc/k6gate/README.md',
      '/usr/share/doc/k6gate/copyright',
      '/usr/share/doc/k6gate/changelog.Debian.gz',
    ]) {
      expect(files).toContain(path);
    }
    const changelog = sh(['bash', '-c', 'zcat /usr/share/doc/k6gate/changelog.Debian.gz']).out;
    expect(changelog.split('\n')[0]).toBe('k6gate (0.0.0-test) unstable; urgency=medium'); // chglog keeps the semver
    // The subject's first words: chglog folds a long subject at a word boundary (" …").
    expect(changelog).toContain(head.slice(0, 60).replace(/\s+\S*$/, ''));
    expect(sh(['/usr/bin/k6gate', '--version']).out).toBe('k6gate 0.1.0\n');
    expect(sh(['stat', '-c', '%a %U:%G', '/etc/k6gate/k6gate.env']).out.trim()).toBe(
      '640 root:k6gate',
    );
    expect(sh(['id', '-u', 'k6gate']).code).toBe(0);
    expect(sh(['dpkg-query', '-W', '-f', '${Recommends}', 'k6gate']).out).toBe('k6');

    const purge = sh(['dpkg', '--purge', 'k6gate']);
    expect(purge.code).toBe(0);
    for (const path of [
      '/usr/bin/k6gate',
      '/etc/k6gate',
      '/usr/share/doc/k6gate',
      '/var/lib/k6gate',
    ]) {
      expect(existsSync(path)).toBe(false);
    }
    expect(existsSync('/usr/lib/systemd/system/k6gate.service')).toBe(false);
    expect(userExists()).toBe(false);
    expect(sh(['getent', 'group', 'k6gate']).code).not.toBe(0);
    expect(installed()).toBe(false);
  },
  120_000,
);
