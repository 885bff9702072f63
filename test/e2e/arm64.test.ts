// The linux/arm64 release binary (make release-binaries, Bun's cross-compile) runs here under
// qemu-user with Debian's arm64 C library (scripts/tools qemu): `--version`, the HTTP contract
// against the k6 double — health, a passing and a failing run, a bad request — and run names
// a native k6gate reads as live (qemu-user fakes a process's reads of its own /proc stat).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStaleRunName } from '../../src/os/process-tag.ts';
import {
  flaggerPayload,
  postLaunch,
  REPO,
  startChildDaemon,
  type ChildDaemon,
} from '../helpers/daemon.ts';
import { doubleScript, startTimeOf } from '../helpers/processes.ts';

const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;
const ARM64 = join(REPO, `dist/release/k6gate-${VERSION}-linux-arm64`);
const SUMS = join(REPO, 'dist/release/SHA256SUMS');
const qemu = Bun.which('qemu-aarch64');
const QEMU = qemu ? [qemu, '-L', '/usr/aarch64-linux-gnu'] : [];
const why = !existsSync(ARM64)
  ? `${ARM64} not built (make release-binaries)`
  : !qemu || !existsSync('/usr/aarch64-linux-gnu/lib')
    ? 'qemu-aarch64 or libc6-arm64-cross missing (bash scripts/tools qemu)'
    : '';
if (why) console.log(`SKIP arm64 lane: ${why}`);

describe.skipIf(why !== '')('the linux/arm64 release binary under qemu-user', () => {
  let d: ChildDaemon;
  const temp = mkdtempSync(join(tmpdir(), 'k6gate-arm64-'));
  beforeAll(async () => {
    d = await startChildDaemon({ binary: ARM64, wrap: QEMU, env: { TEMP_DIR: temp } });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
    rmSync(temp, { recursive: true, force: true });
  });

  test('it is an arm64 ELF, listed in SHA256SUMS with its digest', () => {
    const head = readFileSync(ARM64).subarray(0, 20);
    expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(head.readUInt16LE(18)).toBe(183); // EM_AARCH64
    const digest = new Bun.CryptoHasher('sha256').update(readFileSync(ARM64)).digest('hex');
    expect(readFileSync(SUMS, 'utf8')).toContain(`${digest}  k6gate-${VERSION}-linux-arm64`);
  });

  test('--version says the one version', () => {
    const out = Bun.spawnSync([...QEMU, ARM64, '--version']);
    expect(out.stdout.toString()).toBe(`k6gate ${VERSION}\n`);
  }, 20_000); // an emulated start: 1.1 s here, slower on a loaded machine

  test('the HTTP contract: health, 200 pass, 400 thresholds with the reason, 400 naming a bad field', async () => {
    expect(await (await fetch(`${d.url}/health`)).text()).toBe('Good to go!');
    const pass = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass duration=0s') }),
    );
    expect(pass.status).toBe(200);
    expect(await pass.text()).toContain('output: -');
    const fail = await postLaunch(
      d.url,
      flaggerPayload(
        { script: doubleScript('mode=fail-thresholds duration=0s'), min_failure_delay: '0' },
        { name: 'fails' },
      ),
    );
    expect(fail.status).toBe(400);
    expect((await fail.text()).split('\n')[0]).toStartWith(
      'failed to run: exit status 99 (thresholds crossed',
    );
    const bad = await postLaunch(d.url, flaggerPayload({ script: 'x', wait_for_results: 'maybe' }));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toStartWith(
      'error while validating request: metadata.wait_for_results:',
    );
  }, 60_000);

  test("a run's directory is named for its maker as every other process sees it: a native k6gate's sweep leaves it", async () => {
    const started = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=hang'), wait_for_results: 'false' }),
    );
    expect(started.status).toBe(200);
    const [name] = readdirSync(temp).filter((n) => n.startsWith('k6gate-run-'));
    expect(name).toStartWith(`k6gate-run-${d.pid}.`);
    // The start time in /proc/<pid>/stat as this (native) process reads it.
    expect(name).toStartWith(`k6gate-run-${d.pid}.${startTimeOf(d.pid)}-`);
    expect(isStaleRunName(name!)).toBe(false);
  }, 60_000);
});
