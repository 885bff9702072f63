// TLS on the listener (--tls-cert-file, --tls-key-file, --tls-min-version): the files read into
// Bun's TLS options, and a watch that notices when they change (certbot and cert-manager renew
// in place; a mounted Secret swaps its ..data link) by their modification time, size and inode,
// checked every few seconds: polling, because file events miss a Secret's link swap.

import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../core/errors.ts';

export interface TlsFiles {
  cert: string;
  key: string;
  minVersion: '1.2' | '1.3';
}

/** BoringSSL's SSL_OP_NO_TLSv1_2 (as node:crypto's constants): with 1.3 as the minimum. Bun
 * refuses TLS 1.0 and 1.1 by itself. */
const NO_TLS_1_2 = 0x08000000;
const CHECK_EVERY_MS = 5000;

/** The TLS files of the settings, or undefined for plain HTTP; one without the other is a
 * usage error naming the missing one. */
export function tlsFilesOf(s: {
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsMinVersion: '1.2' | '1.3';
}): TlsFiles | undefined {
  if (s.tlsCertFile === '' && s.tlsKeyFile === '') return undefined;
  if (s.tlsKeyFile === '') {
    throw new UsageError('--tls-cert-file / TLS_CERT_FILE needs --tls-key-file / TLS_KEY_FILE');
  }
  if (s.tlsCertFile === '') {
    throw new UsageError('--tls-key-file / TLS_KEY_FILE needs --tls-cert-file / TLS_CERT_FILE');
  }
  return { cert: s.tlsCertFile, key: s.tlsKeyFile, minVersion: s.tlsMinVersion };
}

/** The files' contents as Bun's TLS options; throws an Error naming the file it cannot read. */
export function readTls(files: TlsFiles) {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    cert: read(files.cert, 'certificate'),
    key: read(files.key, 'key'),
    ...(files.minVersion === '1.3' ? { secureOptions: NO_TLS_1_2 } : {}),
  };
}

/** Why Bun could not serve with these files, in words (OpenSSL's reason code kept). */
export function describeTlsError(err: Error): string {
  const m = err.message;
  if (m.includes('KEY_VALUES_MISMATCH')) return `the key does not belong to the certificate (${m})`;
  if (m.includes('NO_START_LINE')) return `a file is not PEM (${m})`;
  return m;
}

/** Calls `changed` (at most once per check) after either file changed; stop() ends the watch. */
export function watchTls(files: TlsFiles, changed: () => void): { stop(): void } {
  const stamp = () =>
    [files.cert, files.key]
      .map((path) => {
        try {
          const st = statSync(path);
          return `${st.mtimeMs}:${st.size}:${st.ino}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  let last = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === last) return;
    last = now;
    changed();
  }, CHECK_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
