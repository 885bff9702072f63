// Builds the daemon's parts from a Config: the one place that turns settings into objects.
// main.ts calls it for the real daemon; tests call it with their own runner or notifier.

import { accessSync, constants } from 'node:fs';
import { createApp } from './app.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createLaunchService, type SecretResolver } from './launch/service.ts';
import type { Logger } from './log.ts';
import { createMetricsRegistry } from './metrics.ts';
import type { Notifier } from './notify/notifier.ts';
import { createLocalRunner, type K6Runner } from './k6/runner.ts';
import { createFailureCache } from './supervise/failure-cache.ts';
import { createRunRegistry } from './supervise/registry.ts';
import { createSemaphore } from './supervise/semaphore.ts';

export interface DaemonParts {
  config: Config;
  logger: Logger;
  notifier: Notifier;
  secrets: SecretResolver;
  daemonEnv: Readonly<Record<string, string | undefined>>;
  version: string;
  clock?: Clock;
  runner?: K6Runner;
}

export function buildDaemon(parts: DaemonParts) {
  const { config, logger } = parts;
  const clock = parts.clock ?? systemClock;
  const metrics = createMetricsRegistry();
  const semaphore = createSemaphore(config.maxConcurrentTests);
  const registry = createRunRegistry();
  const failures = createFailureCache(clock);

  metrics.gauge('k6gate_build_info', 'Always 1; the version is a label').set(1, {
    version: parts.version,
  });
  metrics.gauge('launch_max_concurrent_tests', 'Runs allowed at once', () => semaphore.capacity);
  metrics.gauge(
    'launch_available_concurrent_tests',
    'Free run slots; at 0 new requests get 429',
    () => semaphore.capacity - semaphore.inUse(),
  );
  metrics.gauge('k6gate_runs_in_progress', 'k6 runs alive now', () => registry.running().length);
  metrics.gauge('k6gate_failure_cache_entries', 'Canaries in the failure cache', () =>
    failures.size(),
  );
  const requestsTotal = metrics.counter('launch_requests_total', '/launch-test answers by code');

  const runner =
    parts.runner ??
    createLocalRunner({
      k6Binary: config.k6Binary,
      tempRoot: config.tempDir,
      killGraceMs: config.killGraceMs,
      startTimeoutMs: config.startTimeoutMs,
      maxRunMs: config.maxRunMs,
      maxOutputBytes: config.maxOutputBytes,
      cloudToken: config.cloudToken,
      daemonEnv: parts.daemonEnv,
      logger,
      clock,
    });

  const launch = createLaunchService({
    runner,
    notifier: parts.notifier,
    secrets: parts.secrets,
    semaphore,
    failures,
    registry,
    clock,
    newRunId: () => Bun.randomUUIDv7(),
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
    launch,
    readiness,
    metrics,
    requestsTotal,
    maxBodyBytes: config.maxBodyBytes,
  });
  return { app, registry, readiness, semaphore, failures, metrics };
}
