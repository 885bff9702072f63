// The daemon's listening socket: plain HTTP, or HTTPS from --tls-cert-file/--tls-key-file. When
// the certificate files change, a second socket with the new certificate opens on the same port
// (SO_REUSEPORT) and the old one stops accepting and finishes the requests it holds: no
// connection is dropped and no new one refused. A new pair that cannot be used (a key that is
// not the certificate's, a half-written file) keeps the current one, with a warning, until the
// next change.

import type { Config } from '../config/settings.ts';
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { listenOptions, serveApp } from '../http/app.ts';
import { describeTlsError, readTls, tlsFilesOf, watchTls, type TlsFiles } from '../http/tls.ts';

interface Listenable {
  app: Parameters<typeof serveApp>[0];
}

export interface Listener {
  /** The socket accepting now (it changes when the certificate is renewed). */
  server(): Bun.Server<unknown>;
  /** Stops watching the certificate files. */
  close(): void;
}

/** Listens as the settings say; throws UsageError for TLS files that cannot be served. */
export function listen(daemon: Listenable, config: Config, logger: Logger): Listener {
  const files = tlsFilesOf(config);
  const options = { ...listenOptions(config), ...(files ? { reusePort: true } : {}) };
  try {
    serveApp(daemon.app, files ? { ...options, tls: readTls(files) } : options);
  } catch (err) {
    if (!files) throw err;
    throw new UsageError(
      `invalid value for --tls-cert-file / --tls-key-file: cannot serve TLS with ${files.cert} and ${files.key}: ${describeTlsError(err as Error)}`,
    );
  }
  const current = () => {
    if (!daemon.app.server) throw new Error('the server did not start');
    return daemon.app.server;
  };
  const watch = files && watchTls(files, () => reload(daemon, files, options, logger));
  return { server: current, close: () => watch?.stop() };
}

// A second socket with the new certificate, then the old one drained.
function reload(
  daemon: Listenable,
  files: TlsFiles,
  options: ReturnType<typeof listenOptions>,
  logger: Logger,
) {
  const old = daemon.app.server;
  try {
    serveApp(daemon.app, { ...options, port: old?.port ?? options.port, tls: readTls(files) });
  } catch (err) {
    logger.warn('TLS files changed but cannot be used: keeping the current certificate', {
      cert: files.cert,
      key: files.key,
      error: describeTlsError(err as Error),
    });
    return;
  }
  void old?.stop(); // stops accepting; its requests finish
  logger.info('TLS certificate reloaded', { cert: files.cert });
}
