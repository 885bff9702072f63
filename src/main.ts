// The composition root: argv and environment → config → real dependencies → app → listen.
// Hardening first: the daemon is made non-dumpable (k6 scripts run with its UID and must not
// read its environment or memory) and a child subreaper (no descendant of a run outlives it).
// Signals: SIGTERM/SIGINT drain (readiness 503, children stopped, temp dirs removed), exit 0.
// Nothing else in k6gate reads process.env or argv.

import { loadClientDirectory } from './auth/clients.ts';
import { ConfigError, parseArgs, renderHelp, type Config } from './config.ts';
import { systemClock } from './core/clock.ts';
import { createLogger, type Logger } from './core/log.ts';
import { listenOptions } from './http/app.ts';
import { buildParts, SettingError } from './parts.ts';
import { runCommand, type RunIo } from './run-command.ts';
import { buildDaemon } from './wiring.ts';

declare const K6GATE_VERSION: string;
const VERSION = typeof K6GATE_VERSION === 'string' ? K6GATE_VERSION : '0.0.0-dev';

const EXIT_FATAL = 1;
const EXIT_BAD_SETTINGS = 2;

function loadClients(config: Config, logger: Logger) {
  if (config.authFile === '') {
    logger.warn(
      'no --auth-file: anyone who can reach this port may run k6 scripts (see SECURITY.md)',
      {
        allowedNamespaces: config.allowedNamespaces.length > 0 ? config.allowedNamespaces : 'any',
      },
    );
    return undefined;
  }
  try {
    return loadClientDirectory(config.authFile, { clock: systemClock, logger });
  } catch (err) {
    throw new SettingError(
      `invalid value for --auth-file / AUTH_FILE: ${config.authFile}: ${(err as Error).message}`,
    );
  }
}

async function main(): Promise<number> {
  if (Bun.argv[2] === 'run') return runCommand(Bun.argv.slice(3), terminal());
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(Bun.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`k6gate: ${err.message}\n`);
    return EXIT_BAD_SETTINGS;
  }
  if (parsed.command !== 'serve') {
    process.stdout.write(parsed.command === 'help' ? renderHelp(VERSION) : `k6gate ${VERSION}\n`);
    return 0;
  }
  const { config } = parsed;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });

  let daemon;
  try {
    daemon = buildDaemon({
      ...(await buildParts(config, logger)),
      clients: loadClients(config, logger),
      daemonEnv: process.env,
      version: VERSION,
    });
  } catch (err) {
    if (!(err instanceof SettingError)) throw err;
    process.stderr.write(`k6gate: ${err.message}\n`);
    return EXIT_BAD_SETTINGS;
  }
  for (const problem of daemon.readiness.problems()) logger.warn(`not ready: ${problem}`);
  const server = listen(daemon.app, config, logger);
  if (!server) return EXIT_FATAL;
  return await stopOnSignal(daemon.registry, server, config, logger);
}

function listen(app: ReturnType<typeof buildDaemon>['app'], config: Config, logger: Logger) {
  try {
    app.listen(listenOptions(config));
    if (!app.server) throw new Error('the server did not start');
  } catch (err) {
    logger.error('cannot listen', { host: config.host, port: config.listenPort, err });
    return undefined;
  }
  const server = app.server;
  logger.info('listening', {
    url: `http://${server.hostname}:${server.port}`,
    port: server.port,
    version: VERSION,
    maxConcurrentTests: config.maxConcurrentTests,
    k6Binary: config.k6Binary,
    auth: config.authFile === '' ? 'off' : 'on',
    kubernetesClient: config.kubernetesClient,
  });
  return server;
}

function stopOnSignal(
  registry: ReturnType<typeof buildDaemon>['registry'],
  server: Bun.Server<unknown>,
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

// `k6gate run`'s terminal: k6's output and the verdict written as they come; Ctrl-C and SIGTERM
// call `fn` each time (run-command.ts stops the run on the first, kills it on the second).
function terminal(): RunIo {
  return {
    env: process.env,
    stdout: (chunk) => void process.stdout.write(chunk),
    stderr: (chunk) => void process.stderr.write(chunk),
    stdin: async () => new Uint8Array(await Bun.stdin.arrayBuffer()),
    onInterrupt(fn) {
      process.on('SIGINT', fn);
      process.on('SIGTERM', fn);
    },
  };
}

// No top-level await: the binary is compiled to bytecode, which needs a CommonJS-shaped entry.
void main().then((code) => process.exit(code));
