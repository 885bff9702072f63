// The linux/arm64 release binary (make release-binaries, Bun's cross-compile) runs here under
// qemu-user with Debian's arm64 C library (scripts/tools qemu): `--version`, and the HTTP
// contract against the k6 double — health, a passing and a failing run, a bad request.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  flaggerPayload,
  postLaunch,
  REPO,
  startChildDaemon,
  type ChildDaemon,
} from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';

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
  beforeAll(async () => {
    d = await startChildDaemon({ binary: ARM64, wrap: QEMU });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
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
  });

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
});
