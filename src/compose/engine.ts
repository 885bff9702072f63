// The engine both commands run tests with, built from a Config and the outside parts: the
// runners (local always; job and k6-operator when the pod-runner module was loaded, with their
// janitor), the semaphores, the run registry, the failure cache, and the launch service. No
// HTTP here: `k6gate run` uses the engine alone; daemon.ts puts the HTTP app on top.

import type { Config } from '../config/settings.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../core/metrics.ts';
import { createGates } from '../launch/gates.ts';
import { createFailureCache, type FailureCache } from '../launch/failure-cache.ts';
import { createRunnerRules } from '../launch/policy.ts';
import { createRunRegistry, type RunRegistry } from '../launch/run-registry.ts';
import { createSemaphore, type Semaphore } from '../launch/semaphore.ts';
import { createCanaryHistory } from '../launch/canary-history.ts';
import { createLiveLogs, type LiveLogs } from '../launch/live-logs.ts';
import { createRunLog } from '../launch/run-log.ts';
import { createRunViews } from '../launch/run-views.ts';
import { createLaunchService } from '../launch/service.ts';
import { createCanaryEvents, noCanaryEvents } from '../kube/canary-events.ts';
import type { KubeTransport } from '../kube/client.ts';
import type { SecretSource } from '../kube/secret-source.ts';
import {
  createKubeScriptSource,
  type ScriptSource,
  unconfiguredScriptSource,
} from '../kube/script-source.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { OrphanSweeper } from '../runners/local/orphans.ts';
import type { RunCgroups } from '../os/cgroup.ts';
import { createLocalRunner } from '../runners/local/runner.ts';
import { sweepStaleRunDirs } from '../runners/local/run-dirs.ts';
import type { PodRunnerModule } from '../runners/pods/pod-runners.ts';
import type { Runner } from '../runners/runner.ts';
import { createMemoryStore } from '../store/memory.ts';
import type { Store } from '../store/store.ts';

const ORPHAN_SWEEP_MS = 30_000;

export interface EngineParts {
  config: Config;
  logger: Logger;
  notifier: Notifier;
  secrets: SecretSource;
  daemonEnv: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /** Replaces the local runner (tests). */
  runner?: Runner;
  orphans?: OrphanSweeper;
  /** A cgroup v2 per local run, when k6gate may make them (--run-cgroup). */
  runCgroups?: RunCgroups;
  /** The Kubernetes API and the pod-runner module, when a client is configured. */
  kube?: KubeTransport;
  podRunners?: PodRunnerModule;
  /** Where script_configmap comes from (default: the ConfigMap through `kube`). */
  scripts?: ScriptSource;
  /** Sweep expired pod runs (default true; `k6gate run` does not). */
  janitor?: boolean;
  /** Seconds one watch of a pod run lasts before it is re-opened (default 300; tests shorten it). */
  podWatchSeconds?: number;
  /** The build_info metric's version label. */
  version?: string;
  /** Run records and gate state (default: in memory). */
  store?: Store;
  /** The key signing run objects (--run-signing-key-file); default: a random one. */
  runSigningKey?: Uint8Array;
}

/** @example const engine = buildEngine(parts); await engine.launch.launch(req, ctx); */
export function buildEngine(parts: EngineParts) {
  const { config, logger } = parts;
  const clock = parts.clock ?? systemClock;
  const metrics = createMetricsRegistry();
  const registry = createRunRegistry();
  const semaphore = createSemaphore(config.maxConcurrentTests);
  const store = parts.store ?? createMemoryStore();
  // The failure cache writes through to a store that outlives the process (replicas, restarts).
  const writeThrough = (hook: string, at: number) => {
    store.recordFailure(hook, at).catch((err: unknown) => {
      logger.error('cannot record the failure in the store', { err });
    });
  };
  const failures = createFailureCache(clock, store.persistent ? writeThrough : undefined);
  const events = parts.kube
    ? createCanaryEvents(parts.kube, { logger: parts.logger, now: () => clock.now() })
    : noCanaryEvents;
  registerEngineMetrics(metrics, parts.version ?? 'dev', { semaphore, registry, failures });
  const local =
    parts.runner ??
    createLocalRunner({
      ...config,
      daemonEnv: parts.daemonEnv,
      logger,
      clock,
      orphans: parts.orphans,
      cgroups: parts.runCgroups,
    });
  // What a killed k6gate left goes at start: its run directories (a pod's emptyDir outlives its
  // container) and, in the background, its run cgroups with whatever still runs in them.
  if (!parts.runner && parts.janitor !== false) {
    sweepStaleRunDirs(config.tempDir, logger);
    void parts.runCgroups?.sweepStale(logger).catch((err: unknown) => {
      logger.warn('cannot sweep stale run cgroups', { err });
    });
  }
  // Orphans are swept at each local run's end, and every half minute for what escaped that.
  if (parts.orphans && parts.janitor !== false) parts.orphans.sweepEvery(ORPHAN_SWEEP_MS, logger);
  const liveLogs = createLiveLogs();
  const launch = createLaunchService({
    ...config,
    runners: { local, ...podRunners(parts, clock, () => registry.draining) },
    defaultRunner: config.runner,
    runnerRules: createRunnerRules(config),
    podSemaphore: createSemaphore(config.maxConcurrentPodRuns),
    notifier: parts.notifier,
    events,
    secrets: parts.secrets,
    scripts: parts.scripts ?? scriptSource(parts),
    semaphore,
    failures,
    registry,
    store,
    clock,
    newRunId: () => Bun.randomUUIDv7(),
    metrics: verdictMetrics(metrics),
    liveLogs,
  });
  const gates = createGates({ store, clock });
  const history = readers({ store, registry, liveLogs, clock });
  return { launch, gates, store, events, registry, semaphore, failures, metrics, history };
}

// What reads the runs: their views, a run's live log, a canary's timeline, trend and verdict.
function readers(deps: { store: Store; registry: RunRegistry; liveLogs: LiveLogs; clock: Clock }) {
  const views = createRunViews(deps);
  return {
    views,
    runLog: createRunLog({ ...deps, views }),
    history: createCanaryHistory({ ...deps, views }),
  };
}

// The job and k6-operator runners over the cluster, and their janitor (namespaces where this
// process made runs, and those named exactly in --allowed-namespaces).
function podRunners(parts: EngineParts, clock: Clock, stopped: () => boolean) {
  if (!parts.kube || !parts.podRunners) return {};
  const { config } = parts;
  const usedNamespaces = new Set<string>();
  const exact = config.allowedNamespaces.filter((n) => !/[*?]/.test(n));
  return parts.podRunners.createPodRunners({
    ...config,
    kube: parts.kube,
    signer: parts.podRunners.createRunSigner(parts.runSigningKey),
    usedNamespaces,
    image: config.runnerImage,
    serviceAccount: config.runnerServiceAccount,
    ...(parts.podWatchSeconds ? { watchSeconds: parts.podWatchSeconds } : {}),
    logger: parts.logger,
    clock,
    janitor: parts.janitor !== false && {
      namespaces: () => new Set([...usedNamespaces, ...exact]),
      forget: (ns: string) => usedNamespaces.delete(ns),
      stopped,
    },
  });
}

function scriptSource(parts: EngineParts): ScriptSource {
  if (!parts.kube) return unconfiguredScriptSource;
  return createKubeScriptSource(parts.kube, { timeoutMs: parts.config.secretsTimeoutMs });
}

// The engine's gauges: its build, its run slots, the runs alive, the failure cache.
function registerEngineMetrics(
  metrics: MetricsRegistry,
  version: string,
  e: { semaphore: Semaphore; registry: RunRegistry; failures: FailureCache },
) {
  metrics.gauge('k6gate_build_info', 'Always 1; the version is a label').set(1, { version });
  metrics.collectedGauge(
    'launch_max_concurrent_tests',
    'Runs allowed at once',
    () => e.semaphore.capacity,
  );
  metrics.collectedGauge(
    'launch_available_concurrent_tests',
    'Free run slots; at 0 new requests get 429',
    () => e.semaphore.capacity - e.semaphore.inUse(),
  );
  metrics.collectedGauge(
    'k6gate_runs_in_progress',
    'k6 runs alive now',
    () => e.registry.running().length,
  );
  metrics.collectedGauge('k6gate_failure_cache_entries', 'Hooks in the failure cache', () =>
    e.failures.size(),
  );
}

function verdictMetrics(metrics: MetricsRegistry) {
  return {
    runsTotal: metrics.counter('k6gate_runs_total', 'Finished k6 runs by verdict'),
    canaryRunsTotal: metrics.counter(
      'k6gate_canary_runs_total',
      'Finished k6 runs by canary (canary_namespace, canary; the first 500, then _other), runner and verdict',
    ),
    runDurationSeconds: metrics.histogram(
      'k6gate_run_duration_seconds',
      'Duration of k6 runs by verdict',
      [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    ),
    admissionRejections: metrics.counter(
      'k6gate_admission_rejections_total',
      'Launch requests refused before a run, by reason',
    ),
  };
}
