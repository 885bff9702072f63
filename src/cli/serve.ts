// `k6gate serve` (the default command): settings → the outside parts → the daemon → listen.
// Hardening first (parts.ts): the daemon is made non-dumpable (k6 scripts run with its UID and
// must not read its environment or memory) and a child subreaper (no descendant of a run
// outlives it). SIGTERM/SIGINT drain (readiness 503, children stopped, temp dirs removed), then
// exit 0; a second signal exits 1 at once.

import { buildDaemon } from '../compose/daemon.ts';
import { buildParts } from '../compose/parts.ts';
import { parseArgs } from '../config/parse.ts';
import type { Config } from '../config/settings.ts';
import { systemClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { stderr, stdout } from '../os/stdio.ts';
import { listen, type Listener } from './listener.ts';

const EXIT_FATAL = 1;
const EXIT_USAGE = 2;

type Daemon = ReturnType<typeof buildDaemon>;

/** Runs `k6gate [serve] argv…` until a signal; resolves to the exit code. */
export async function serveCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  version: string,
): Promise<number> {
  try {
    const parsed = parseArgs(argv, env);
    if (parsed.command !== 'serve') {
      // The help text's module is loaded for --help only (0.1 ms of every start otherwise).
      const text =
        parsed.command === 'help'
          ? (await import('../config/help.ts')).renderHelp(version)
          : `k6gate ${version}\n`;
      stdout.write(text);
      return 0;
    }
    return await serve(parsed.config, env, version);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`k6gate: ${err.message}\n`);
    return EXIT_USAGE;
  }
}

async function serve(
  config: Config,
  env: Readonly<Record<string, string | undefined>>,
  version: string,
): Promise<number> {
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    journal: env.JOURNAL_STREAM !== undefined, // stderr is systemd's journal
  });
  const daemon = buildDaemon({
    ...(await buildParts(config, logger)),
    clients: await loadClients(config, logger),
    daemonEnv: env,
    version,
  });
  for (const problem of daemon.readiness.problems()) logger.warn(`not ready: ${problem}`);
  const listener = startListening(daemon, config, logger, version);
  if (!listener) return EXIT_FATAL;
  return await stopOnSignal(daemon, listener, config, logger);
}

// The auth file's reader (valibot schemas, glob matchers) is loaded only when a file is named.
async function loadClients(config: Config, logger: Logger) {
  if (config.authFile === '') {
    logger.warn(
      'no --auth-file: anyone who can reach this port may run k6 scripts (see SECURITY.md)',
      {
        allowedNamespaces: config.allowedNamespaces.length > 0 ? config.allowedNamespaces : 'any',
      },
    );
    return undefined;
  }
  const { loadClientDirectory } = await import('../auth/clients.ts');
  try {
    return loadClientDirectory(config.authFile, { clock: systemClock, logger });
  } catch (err) {
    throw new UsageError(
      `invalid value for --auth-file / AUTH_FILE: ${config.authFile}: ${(err as Error).message}`,
    );
  }
}

function startListening(daemon: Daemon, config: Config, logger: Logger, version: string) {
  let listener: Listener;
  try {
    listener = listen(daemon, config, logger);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    logger.error('cannot listen', { host: config.host, port: config.listenPort, err });
    return undefined;
  }
  const server = listener.server();
  const scheme = config.tlsCertFile ? 'https' : 'http';
  logger.info('listening', {
    url: `${scheme}://${server.hostname}:${server.port}`,
    port: server.port,
    version,
    maxConcurrentTests: config.maxConcurrentTests,
    k6Binary: config.k6Binary,
    auth: config.authFile === '' ? 'off' : 'on',
    tls: config.tlsCertFile ? `TLS ${config.tlsMinVersion}+` : 'off',
    kubernetesClient: config.kubernetesClient,
  });
  // The binary starts with JavaScriptCore's tier-up thresholds raised (`--compile-jit-policy`,
  // Makefile): start-up code runs once and is not worth compiling. What follows repeats.
  Bun.unsafe.setJITPolicy(1);
  return listener;
}

function stopOnSignal(
  { registry, store }: Pick<Daemon, 'registry' | 'store'>,
  listener: Listener,
  config: Config,
  logger: Logger,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting now', { signal });
        resolve(EXIT_FATAL);
        return;
      }
      stopping = true;
      logger.info('shutting down: draining runs', { signal, running: registry.running().length });
      await registry.shutdown();
      await store.close();
      listener.close();
      const server = listener.server();
      // Open connections (a client stalled mid-body, say) get the shutdown timeout, then are cut.
      const closed = await Promise.race([
        server.stop().then(() => true),
        Bun.sleep(config.shutdownTimeoutMs).then(() => false),
      ]);
      if (!closed) {
        logger.warn('connections still open after the shutdown timeout: closing them', {
          timeoutMs: config.shutdownTimeoutMs,
        });
        await server.stop(true);
      }
      logger.info('shut down cleanly');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}
