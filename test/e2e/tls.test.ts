// HTTPS on the listener with the compiled daemon: a CA made here signs the certificate; curl
// trusting only that CA gets /healthz and a waited run; the certificate is renewed in place
// under traffic (every request answered, at most one connection reset and retried, new
// connections get the new one); a key that is not the certificate's, or one file without the
// other, exits 2 naming the settings; TLS 1.3 as the minimum refuses a 1.2 handshake.

import { afterAll, describe, expect, test } from 'bun:test';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPILED, flaggerPayload, startChildDaemon } from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';
import { makeTestCa } from '../helpers/test-ca.ts';

const ca = makeTestCa();
afterAll(() => ca[Symbol.dispose]());
const dir = ca.dir;
const at = (name: string) => join(dir, name);
const first = ca.serverCert('first').fingerprint;
const second = ca.serverCert('second').fingerprint;

/** The fingerprint of the certificate a new connection to `port` is served. */
function servedFingerprint(port: number): string {
  const pem = Bun.spawnSync(['openssl', 's_client', '-connect', `127.0.0.1:${port}`], {
    stdin: new Blob(['']),
    stderr: 'pipe',
  }).stdout.toString();
  const out = Bun.spawnSync(['openssl', 'x509', '-noout', '-fingerprint', '-sha256'], {
    stdin: new Blob([pem]),
  });
  return out.stdout.toString().trim();
}

const curl = (url: string, extra: string[] = []) =>
  Bun.spawnSync(['curl', '-sS', '--cacert', ca.caCert, '-w', '\n%{http_code}', ...extra, url], {
    stderr: 'pipe',
  });

// The live files the daemon reads, replaced the way certbot does (written beside, renamed over).
function install(name: string) {
  for (const ext of ['key', 'crt']) {
    writeFileSync(at(`live.${ext}.new`), readFileSync(at(`${name}.${ext}`)));
    renameSync(at(`live.${ext}.new`), at(`live.${ext}`));
  }
}

describe('TLS on the listener', () => {
  test('curl trusting only the test CA: /healthz and a waited run over https', async () => {
    install('first');
    await using d = await startChildDaemon({
      compiled: true,
      args: ['--tls-cert-file', at('live.crt'), '--tls-key-file', at('live.key')],
    });
    const url = d.url.replace('http://', 'https://');
    const health = curl(`${url}/healthz`);
    expect(health.stdout.toString()).toBe('ok\n\n200');
    const body = JSON.stringify(flaggerPayload({ script: doubleScript('mode=pass duration=0s') }));
    const run = curl(`${url}/launch-test`, ['-H', 'Content-Type: application/json', '-d', body]);
    expect(run.stdout.toString()).toEndWith('\n200');
    // Plain HTTP on the same port is not served.
    expect((await fetch(`${d.url}/healthz`).catch(() => undefined))?.status).not.toBe(200);
    expect(d.logs.find((r) => r.msg === 'listening')?.url).toStartWith('https://');
  }, 30_000);

  test('renewed in place under traffic: every request answered, new connections get the new one', async () => {
    install('first');
    await using d = await startChildDaemon({
      compiled: true,
      args: ['--tls-cert-file', at('live.crt'), '--tls-key-file', at('live.key')],
    });
    const port = Number(new URL(d.url).port);
    const url = `https://127.0.0.1:${port}/healthz`;
    expect(servedFingerprint(port)).toBe(first);
    const trusted = readFileSync(ca.caCert, 'utf8');
    const statuses: number[] = [];
    let resets = 0;
    let stop = false;
    // One request at a time on a new connection each. A connection waiting in the old socket's
    // accept queue at the instant it closes is reset by the kernel (SO_REUSEPORT hands each
    // socket its own queue); a client retries it once, as Flagger's does with retries set.
    const traffic = (async () => {
      while (!stop) {
        const res = await fetch(url, { tls: { ca: trusted }, keepalive: false }).catch(() => {
          resets++;
          return fetch(url, { tls: { ca: trusted }, keepalive: false });
        });
        statuses.push(res.status);
        await res.text();
      }
    })();
    await Bun.sleep(500);
    install('second');
    const reloaded = await d.waitForLog((r) => r.msg === 'TLS certificate reloaded', 15_000);
    expect(reloaded.cert).toBe(at('live.crt'));
    await Bun.sleep(300);
    stop = true;
    await traffic;
    expect(servedFingerprint(port)).toBe(second);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(resets).toBeLessThanOrEqual(1);
  }, 40_000);

  test("a key that is not the certificate's, or one file alone: exit 2 naming the settings", () => {
    const run = (args: string[]) =>
      Bun.spawnSync([COMPILED, 'serve', '--listen-port', '0', ...args], {
        env: { PATH: process.env.PATH ?? '' },
        stderr: 'pipe',
      });
    const mismatch = run(['--tls-cert-file', at('first.crt'), '--tls-key-file', at('second.key')]);
    expect(mismatch.exitCode).toBe(2);
    expect(mismatch.stderr.toString()).toContain(
      'invalid value for --tls-cert-file / --tls-key-file: cannot serve TLS with',
    );
    expect(mismatch.stderr.toString()).toContain('the key does not belong to the certificate');
    const alone = run(['--tls-cert-file', at('first.crt')]);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr.toString()).toContain(
      '--tls-cert-file / TLS_CERT_FILE needs --tls-key-file / TLS_KEY_FILE',
    );
  });

  test('--tls-min-version 1.3 refuses a TLS 1.2 handshake', async () => {
    await using d = await startChildDaemon({
      compiled: true,
      args: [
        '--tls-cert-file',
        at('first.crt'),
        '--tls-key-file',
        at('first.key'),
        '--tls-min-version',
        '1.3',
      ],
    });
    const url = d.url.replace('http://', 'https://');
    expect(curl(`${url}/healthz`, ['--tlsv1.3']).stdout.toString()).toEndWith('\n200');
    const old = curl(`${url}/healthz`, ['--tlsv1.2', '--tls-max', '1.2']);
    expect(old.exitCode).not.toBe(0);
  }, 30_000);
});
