// The composition root: argv and environment → config → real dependencies → app → listen.
// Signals: SIGTERM/SIGINT drain (readiness 503, children stopped, temp dirs removed), exit 0.
// Nothing else in k6gate reads process.env or argv.

import { ConfigError, parseArgs, renderHelp, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createKubeSecretSource, unconfiguredSecretSource } from './kube/secrets.ts';
import { createNoopNotifier } from './notify/noop.ts';
import { buildDaemon } from './wiring.ts';

declare const K6GATE_VERSION: string;
const VERSION = typeof K6GATE_VERSION === 'string' ? K6GATE_VERSION : '0.0.0-dev';

const EXIT_FATAL = 1;
const EXIT_BAD_SETTINGS = 2;

// The Kubernetes and Slack clients are loaded only when configured: they cost start time and
// memory (client-node alone takes ~25 ms to load).
async function buildSecrets(config: Config, logger: Logger) {
  if (config.kubernetesClient === 'none') {
    logger.info('not creating a kubernetes client (KUBERNETES_CLIENT=none)');
    return unconfiguredSecretSource;
  }
  const { createKubeTransport, loadKubeConfig } = await import('./kube/client.ts');
  const kc = loadKubeConfig(config.kubernetesClient, config.kubeconfig || undefined);
  if (!kc) return unconfiguredSecretSource;
  logger.info('created kubernetes client', { mode: config.kubernetesClient });
  return createKubeSecretSource(createKubeTransport(kc), {
    timeoutMs: config.secretsTimeoutMs,
    logger,
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(Bun.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`k6gate: ${err.message}\n`);
    return EXIT_BAD_SETTINGS;
  }
  if (parsed.command === 'help') {
    process.stdout.write(renderHelp(VERSION));
    return 0;
  }
  if (parsed.command === 'version') {
    process.stdout.write(`k6gate ${VERSION}\n`);
    return 0;
  }
  const { config } = parsed;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });

  let secrets;
  try {
    secrets = await buildSecrets(config, logger);
  } catch (err) {
    process.stderr.write(
      `k6gate: invalid value for --kubernetes-client / KUBERNETES_CLIENT: cannot load a ${config.kubernetesClient} configuration: ${(err as Error).message}\n`,
    );
    return EXIT_BAD_SETTINGS;
  }
  const notifier = config.slackToken
    ? (await import('./notify/slack.ts')).createSlackNotifier({
        token: config.slackToken,
        apiUrl: config.slackApiUrl || undefined,
        logger,
      })
    : createNoopNotifier(logger);

  const daemon = buildDaemon({
    config,
    logger,
    notifier,
    secrets,
    daemonEnv: process.env,
    version: VERSION,
  });
  for (const problem of daemon.readiness.problems()) logger.warn(`not ready: ${problem}`);

  let server: NonNullable<typeof daemon.app.server>;
  try {
    daemon.app.listen({
      hostname: config.host,
      port: config.listenPort,
      // Waited runs lift this per request (server.timeout(request, 0)).
      idleTimeout: 30,
      maxRequestBodySize: config.maxBodyBytes + 1,
    });
    if (!daemon.app.server) throw new Error('the server did not start');
    server = daemon.app.server;
  } catch (err) {
    logger.error('cannot listen', { host: config.host, port: config.listenPort, err });
    return EXIT_FATAL;
  }
  logger.info('listening', {
    url: `http://${server.hostname}:${server.port}`,
    port: server.port,
    version: VERSION,
    maxConcurrentTests: config.maxConcurrentTests,
    k6Binary: config.k6Binary,
    slack: config.slackToken ? 'on' : 'off',
    kubernetesClient: config.kubernetesClient,
  });

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting now', { signal });
        resolve(EXIT_FATAL);
        return;
      }
      stopping = true;
      logger.info('shutting down: draining runs', {
        signal,
        running: daemon.registry.running().length,
      });
      await daemon.registry.shutdown();
      await server.stop();
      logger.info('shut down cleanly');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}

// No top-level await: the binary is compiled to bytecode, which needs a CommonJS-shaped entry.
void main().then((code) => process.exit(code));
