// A certificate authority made for one test with openssl, and server certificates it signs for
// 127.0.0.1: clients that trust only this CA (curl --cacert, Go's SSL_CERT_FILE) verify k6gate.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface TestCa {
  dir: string;
  /** The CA's certificate (PEM file). */
  caCert: string;
  /** Signs a certificate for 127.0.0.1 as `<name>.crt` / `<name>.key`; its SHA-256 fingerprint. */
  serverCert(name: string): { cert: string; key: string; fingerprint: string };
  [Symbol.dispose](): void;
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-ca-'));
  const openssl = (args: string[]) => {
    const out = Bun.spawnSync(['openssl', ...args], { cwd: dir, stderr: 'pipe' });
    if (out.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${out.stderr.toString()}`);
    return out.stdout.toString();
  };
  openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=k6gate test CA',
  ]);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert(name) {
      openssl([
        'req',
        ...EC,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        '/CN=127.0.0.1',
      ]);
      writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
      openssl([
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ]);
      const fingerprint = openssl([
        'x509',
        '-in',
        `${name}.crt`,
        '-noout',
        '-fingerprint',
        '-sha256',
      ]).trim();
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), fingerprint };
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
