// Builds the daemon's parts from a Config: the one place that turns settings into objects.
// main.ts calls it for the real daemon; tests call it with their own runner, notifier or clock.

import { accessSync, constants } from 'node:fs';
import type { ClientDirectory } from './auth/clients.ts';
import type { Config } from './config.ts';
import { type Clock, systemClock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import { createMetricsRegistry, type MetricsRegistry } from './core/metrics.ts';
import { registerProcessMetrics } from './core/process-metrics.ts';
import { createApp } from './http/app.ts';
import { createFailureCache, type FailureCache } from './launch/failure-cache.ts';
import { createLaunchPolicy, createRunnerRules } from './launch/policy.ts';
import { createRunRegistry, type RunRegistry } from './launch/run-registry.ts';
import { createSemaphore, type Semaphore } from './launch/semaphore.ts';
import { createLaunchService } from './launch/service.ts';
import type { KubeTransport } from './kube/client.ts';
import type { SecretSource } from './kube/secret-source.ts';
import {
  createKubeScriptSource,
  type ScriptSource,
  unconfiguredScriptSource,
} from './kube/script-source.ts';
import type { Notifier } from './notify/notifier.ts';
import { startJanitor } from './runners/janitor.ts';
import { createJobRunner } from './runners/job.ts';
import { createLocalRunner } from './runners/local.ts';
import type { OrphanSweeper } from './runners/orphans.ts';
import type { Runner } from './runners/runner.ts';
import { createTestRunRunner } from './runners/testrun.ts';

export interface DaemonParts {
  config: Config;
  logger: Logger;
  notifier: Notifier;
  secrets: SecretSource;
  daemonEnv: Readonly<Record<string, string | undefined>>;
  version: string;
  clients?: ClientDirectory;
  clock?: Clock;
  runner?: Runner;
  orphans?: OrphanSweeper;
  /** The Kubernetes API, when a client is configured: enables the pod runners (job, k6-operator). */
  kube?: KubeTransport;
  /** Where script_configmap comes from (default: the ConfigMap through `kube`). */
  scripts?: ScriptSource;
  /** Sweep expired pod runs (default true; `k6gate run` does not). */
  janitor?: boolean;
  /** Seconds one watch of a pod run lasts before it is re-opened (default 300; tests shorten it). */
  podWatchSeconds?: number;
}

export function buildDaemon(parts: DaemonParts) {
  const { config, logger } = parts;
  const clock = parts.clock ?? systemClock;
  const metrics = createMetricsRegistry();
  const semaphore = createSemaphore(config.maxConcurrentTests);
  const podSemaphore = createSemaphore(config.maxConcurrentPodRuns);
  const registry = createRunRegistry();
  const failures = createFailureCache(clock);
  registerDaemonMetrics(metrics, { version: parts.version, semaphore, registry, failures });

  const runner =
    parts.runner ??
    createLocalRunner({
      ...config,
      daemonEnv: parts.daemonEnv,
      logger,
      clock,
      orphans: parts.orphans,
    });
  const usedNamespaces = new Set<string>();
  const pods = parts.kube && {
    ...config,
    usedNamespaces,
    kube: parts.kube,
    image: config.runnerImage,
    ...(parts.podWatchSeconds ? { watchSeconds: parts.podWatchSeconds } : {}),
    serviceAccount: config.runnerServiceAccount,
    logger,
    clock,
  };
  const podRunners = pods
    ? { job: createJobRunner(pods), 'k6-operator': createTestRunRunner(pods) }
    : {};
  if (pods && parts.janitor !== false) {
    const exact = config.allowedNamespaces.filter((n) => !/[*?]/.test(n));
    startJanitor({
      ...pods,
      intervalMs: 60_000,
      namespaces: () => new Set([...usedNamespaces, ...exact]),
      stopped: () => registry.draining,
    });
  }
  const launch = createLaunchService({
    runners: { local: runner, ...podRunners },
    defaultRunner: config.runner,
    runnerRules: createRunnerRules(config),
    podSemaphore,
    notifier: parts.notifier,
    secrets: parts.secrets,
    scripts:
      parts.scripts ??
      (parts.kube
        ? createKubeScriptSource(parts.kube, { timeoutMs: config.secretsTimeoutMs })
        : unconfiguredScriptSource),
    semaphore,
    failures,
    registry,
    clock,
    newRunId: () => Bun.randomUUIDv7(),
    progressIntervalMs: config.progressIntervalMs,
    reattachGraceMs: config.reattachGraceMs,
    statefulTtlMs: config.statefulTtlMs,
    prometheusRwUrl: config.prometheusRwUrl,
    grafanaUrl: config.grafanaUrl,
    metrics: {
      runsTotal: metrics.counter('k6gate_runs_total', 'Finished k6 runs by verdict'),
      runDurationSeconds: metrics.histogram(
        'k6gate_run_duration_seconds',
        'Duration of k6 runs by verdict',
        [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      ),
      admissionRejections: metrics.counter(
        'k6gate_admission_rejections_total',
        'Launch requests refused before a run, by reason',
      ),
    },
  });

  const readiness = {
    problems() {
      const problems: string[] = [];
      if (registry.draining) problems.push('shutting down');
      if (!parts.runner && !Bun.which(config.k6Binary, { PATH: parts.daemonEnv.PATH ?? '' })) {
        problems.push(`k6 binary "${config.k6Binary}" not found`);
      }
      try {
        accessSync(config.tempDir, constants.W_OK);
      } catch {
        problems.push(`temp dir ${config.tempDir} is not writable`);
      }
      return problems;
    },
  };

  const app = createApp({
    logger,
    readiness,
    metrics,
    service: launch,
    policy: createLaunchPolicy(config),
    clients: parts.clients,
    maxBodyBytes: config.maxBodyBytes,
    requestsTotal: metrics.counter('launch_requests_total', '/launch-test answers by code'),
  });
  return { app, launch, registry, readiness, semaphore, failures, metrics };
}

function registerDaemonMetrics(
  metrics: MetricsRegistry,
  d: { version: string; semaphore: Semaphore; registry: RunRegistry; failures: FailureCache },
) {
  metrics
    .gauge('k6gate_build_info', 'Always 1; the version is a label')
    .set(1, { version: d.version });
  metrics.collectedGauge(
    'launch_max_concurrent_tests',
    'Runs allowed at once',
    () => d.semaphore.capacity,
  );
  metrics.collectedGauge(
    'launch_available_concurrent_tests',
    'Free run slots; at 0 new requests get 429',
    () => d.semaphore.capacity - d.semaphore.inUse(),
  );
  metrics.collectedGauge(
    'k6gate_runs_in_progress',
    'k6 runs alive now',
    () => d.registry.running().length,
  );
  metrics.collectedGauge('k6gate_failure_cache_entries', 'Hooks in the failure cache', () =>
    d.failures.size(),
  );
  registerProcessMetrics(metrics);
}
