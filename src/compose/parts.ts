// The real outside parts both commands build from the settings (`k6gate serve` and `k6gate
// run`): the Kubernetes client with the pod-runner module (secrets, ConfigMap scripts, pod
// runners), the Slack notifier, tokens read from their files, and the process hardening. Each
// heavy module (client-node, the Slack SDK, the pod runners) is imported only when its setting
// is on: a daemon that uses neither never loads them.

import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/settings.ts';
import { UsageError } from '../core/errors.ts';
import { createMemoryStore } from '../store/memory.ts';
import type { Store } from '../store/store.ts';
import type { Logger } from '../core/log.ts';
import { createKubeSecretSource, unconfiguredSecretSource } from '../kube/secrets.ts';
import { createNoopNotifier } from '../notify/noop.ts';
import { becomeChildSubreaper, makeNonDumpable } from '../os/linux.ts';
import { createOrphanSweeper } from '../runners/local/orphans.ts';
import { openRunCgroups, type RunCgroups } from '../os/cgroup.ts';

// The Kubernetes and Slack clients are loaded only when configured: they cost start time and
// memory (client-node alone takes ~25 ms to load).
async function buildKube(config: Config, logger: Logger) {
  if (config.kubernetesClient === 'none') {
    logger.info('not creating a kubernetes client (KUBERNETES_CLIENT=none)');
    if (config.runner !== 'local') {
      throw new UsageError(
        `invalid value for --runner / RUNNER: "${config.runner}" needs --kubernetes-client`,
      );
    }
    return { secrets: unconfiguredSecretSource, kube: undefined };
  }
  const [{ createKubeTransport, loadKubeConfig }, { createPodRunners, createRunSigner }] =
    await Promise.all([import('../kube/client.ts'), import('../runners/pods/pod-runners.ts')]);
  let kc;
  try {
    kc = loadKubeConfig(config.kubernetesClient, config.kubeconfig || undefined);
  } catch (err) {
    throw new UsageError(
      `invalid value for --kubernetes-client / KUBERNETES_CLIENT: cannot load the ${config.kubernetesClient} configuration: ${(err as Error).message}`,
    );
  }
  if (!kc) return { secrets: unconfiguredSecretSource, kube: undefined };
  logger.info('created kubernetes client', { mode: config.kubernetesClient });
  const kube = createKubeTransport(kc);
  return {
    secrets: createKubeSecretSource(kube, { timeoutMs: config.secretsTimeoutMs, logger }),
    kube,
    podRunners: { createPodRunners, createRunSigner },
    runSigningKey: readSigningKey(config, logger),
  };
}

// A token from its file when one is named (the chart mounts them), else from the setting.
function readToken(file: string, value: string, flag: string): string {
  if (file === '') return value;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `invalid value for ${flag}: cannot read ${file}: ${(err as Error).message}`,
    );
  }
}

// An optional feature's token (Slack, k6 Cloud): a named file that does not exist turns the
// feature off with a warning instead of stopping the daemon. The chart mounts the tokens Secret
// as optional and names both files, so a Secret holding only one of the keys (or none yet)
// starts a daemon with that one feature. Any other read error (a directory, no permission) is
// still a setting k6gate cannot use.
function readOptionalToken(
  file: string,
  value: string,
  flag: string,
  feature: string,
  logger: Logger,
): string {
  if (file !== '' && !existsSync(file)) {
    logger.warn(`${flag}: ${file} does not exist: ${feature} is off`, { file });
    return '';
  }
  return readToken(file, value, flag);
}

// The run-signing key from its file, or undefined (a random key: said at start, since replicas
// and restarts then cannot attach to each other's runs).
function readSigningKey(config: Config, logger: Logger): Uint8Array | undefined {
  if (config.runSigningKeyFile === '') {
    logger.info(
      'no --run-signing-key-file: run objects are signed with a key of this process alone (another replica, or this one after a restart, will refuse to attach to its runs)',
    );
    return undefined;
  }
  const key = Buffer.from(
    readToken(config.runSigningKeyFile, '', '--run-signing-key-file / RUN_SIGNING_KEY_FILE'),
  );
  if (key.length < 32) {
    throw new UsageError(
      `invalid value for --run-signing-key-file / RUN_SIGNING_KEY_FILE: the key in ${config.runSigningKeyFile} is shorter than 32 bytes`,
    );
  }
  return key;
}

async function buildNotifier(config: Config, logger: Logger) {
  const token = readOptionalToken(
    config.slackTokenFile,
    config.slackToken,
    '--slack-token-file / SLACK_TOKEN_FILE',
    'Slack notifications',
    logger,
  );
  if (!token) return createNoopNotifier(logger);
  const { checkSlackToken, createSlackNotifier } = await import('../notify/slack.ts');
  const options = {
    token,
    apiUrl: config.slackApiUrl || undefined,
    allowedChannels: config.slackAllowedChannels,
    logger,
  };
  void checkSlackToken(options); // in the background: start-up does not wait for Slack
  return createSlackNotifier(options);
}

// memory, sqlite:<path> (bun:sqlite) or postgres://… (Bun.SQL), each loaded only then; a store
// that cannot be opened is a setting k6gate cannot use.
async function openStore(setting: string): Promise<Store> {
  if (setting === 'memory') return createMemoryStore();
  if (/^postgres(ql)?:\/\//.test(setting)) {
    const { openPostgresStore } = await import('../store/postgres.ts');
    try {
      return await openPostgresStore(setting);
    } catch (err) {
      // The URL may hold a password: only the error, never the setting.
      throw new UsageError(
        `invalid value for --store / STORE: cannot use the PostgreSQL store: ${(err as Error).message}`,
      );
    }
  }
  const path = setting.slice('sqlite:'.length);
  const { openSqliteStore } = await import('../store/sqlite.ts');
  try {
    return openSqliteStore(path, Date.now);
  } catch (err) {
    throw new UsageError(
      `invalid value for --store / STORE: cannot open ${path}: ${(err as Error).message}`,
    );
  }
}

// The per-run cgroups, or why there are none (logged: what ends a run's leftovers then).
function runCgroups(setting: string, logger: Logger): RunCgroups | undefined {
  let found: RunCgroups | string;
  try {
    found = openRunCgroups(setting);
  } catch (err) {
    throw new UsageError(`invalid value for --run-cgroup / RUN_CGROUP: ${(err as Error).message}`);
  }
  if (typeof found !== 'string') {
    logger.info('each local run gets a cgroup of its own, killed whole at its end', {
      runCgroups: found.base,
      // clone3 starts k6 in it, or (refused: systemd's RestrictNamespaces=) k6 is moved in.
      joins: found.spawnInto ? 'at spawn' : 'moved in after spawn',
    });
    return found;
  }
  logger.info('no per-run cgroups: sweeps end what a local run leaves behind', { why: found });
  return undefined;
}

function harden(logger: Logger) {
  const hardened = { nonDumpable: makeNonDumpable(), subreaper: becomeChildSubreaper() };
  if (!hardened.nonDumpable || !hardened.subreaper) {
    logger.warn(
      'process hardening unavailable on this platform: k6 scripts may read the daemon environment',
      hardened,
    );
  }
  return hardened;
}

/** What both commands hand to buildEngine from their settings: the process hardened, the cloud
 * token read, the Slack notifier, the Kubernetes client and its sources, and an orphan sweeper
 * when k6gate became a child subreaper. */
export async function buildParts(config: Config, logger: Logger) {
  const { subreaper } = harden(logger);
  if (
    (config.prometheusRwBearerToken !== '' ||
      config.prometheusRwBearerTokenFile !== '' ||
      config.prometheusRwUsername !== '') &&
    config.runnersAllowed.some((r) => r !== 'local')
  ) {
    logger.warn(
      'remote-write credentials go to local runs only: pod runs send remote write without them (in a Job they would be readable by whoever may read Jobs in the namespace)',
    );
  }
  return {
    config: {
      ...config,
      cloudToken: readOptionalToken(
        config.cloudTokenFile,
        config.cloudToken,
        '--cloud-token-file / K6_CLOUD_TOKEN_FILE',
        'uploading to k6 Cloud',
        logger,
      ),
      // Remote write's credentials: a named file must be readable (sending without them would
      // fail every push, quietly).
      prometheusRwBearerToken: readToken(
        config.prometheusRwBearerTokenFile,
        config.prometheusRwBearerToken,
        '--prometheus-rw-bearer-token-file / PROMETHEUS_RW_BEARER_TOKEN_FILE',
      ),
      prometheusRwPassword: readToken(
        config.prometheusRwPasswordFile,
        config.prometheusRwPassword,
        '--prometheus-rw-password-file / PROMETHEUS_RW_PASSWORD_FILE',
      ),
    },
    logger,
    notifier: await buildNotifier(config, logger),
    ...(await buildKube(config, logger)),
    orphans: subreaper ? createOrphanSweeper() : undefined,
    runCgroups: runCgroups(config.runCgroup, logger),
    store: await openStore(config.store),
  };
}
