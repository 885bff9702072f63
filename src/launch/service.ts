// The launch service orchestrates one hook call: a stateful hook's later calls answer from its
// run, a retried blocking call attaches to the run under way, otherwise runner → admission →
// secrets and script → runner.start → (wait) → answer. Admission's refusals (busy, draining,
// a recent failure) are returned for the caller to answer with, not thrown (admission.ts). Plain TypeScript: the HTTP layer and
// `k6gate run` decode and render. A caller that goes away before the run started (or, for
// waited runs, before the verdict) cancels it. What follows a start is in follow.ts.

import type { Clock } from '../core/clock.ts';
import { K6gateError, NotEnabled } from '../core/errors.ts';
import type { CompareOptions } from '../flagger/compare-options.ts';
import type { LogFields, Logger } from '../core/log.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import type { SecretSource } from '../kube/secret-source.ts';
import type { ScriptSource } from '../kube/script-source.ts';
import type { CanaryEvents } from '../kube/canary-events.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { RunHandle, Runner } from '../runners/runner.ts';
import { createAdmission, hookKeyOf, type Admitted, type Refused } from './admission.ts';
import { answer, type LaunchOutcome } from './answer.ts';
import { lastPromotedBaseline, primaryBaseline, withComparison } from './compare-run.ts';
import { createAttachments } from './attach.ts';
import { hookId, type FailureCache, type HookKey } from './failure-cache.ts';
import { createFollower, type VerdictMetrics } from './follow.ts';
import type { RunnerRules } from './policy.ts';
import { answerFromRecord, recordRun } from './records.ts';
import type { LiveLogs } from './live-logs.ts';
import type { RunInfo, RunRegistry } from './run-registry.ts';
import { buildRunSpec, dashboardLink, type RunSpecSettings } from './run-spec.ts';
import type { Semaphore } from './semaphore.ts';
import { createStatefulHooks, createStatefulRuns } from './stateful.ts';
import type { Store } from '../store/store.ts';

export interface LaunchDeps extends RunSpecSettings {
  /** Run records for the gates (and whatever reads runs later). */
  store: Store;
  /** The runner of each kind this daemon can use; `defaultRunner` when a request names none. */
  runners: Partial<Record<RunnerKind, Runner>>;
  defaultRunner: RunnerKind;
  notifier: Notifier;
  /** Events on the Canary: verdicts (here) and refusals (the HTTP layer). */
  events: CanaryEvents;
  secrets: SecretSource;
  /** Reads script_configmap (the canary's namespace). */
  scripts: ScriptSource;
  semaphore: Semaphore;
  podSemaphore: Semaphore;
  /** Whether a request's pod options fit its runner (policy.ts). */
  runnerRules: RunnerRules;
  failures: FailureCache;
  registry: RunRegistry;
  clock: Clock;
  metrics: VerdictMetrics;
  newRunId: () => string;
  /** A "still running" log line this often (--progress-interval); 0 disables. */
  progressIntervalMs: number;
  /** How long a run whose waiting caller left may wait for a retry to attach (0: cancel at once). */
  reattachGraceMs: number;
  /** Where each run's output goes as it comes, for those following its log. */
  liveLogs: LiveLogs;
}

interface LaunchContext {
  requestId: string;
  /** Aborts when the caller goes away; its reason may be a CallerGone (runners/runner.ts). */
  signal: AbortSignal;
  logger: Logger;
  /** Each chunk of k6's output as it comes (local runs). */
  onOutput?: (chunk: Uint8Array) => void;
}

export interface LaunchService {
  launch(req: LaunchRequest, ctx: LaunchContext): Promise<LaunchOutcome | Refused>;
}

/** @example const service = createLaunchService(deps); await service.launch(req, ctx); */
export function createLaunchService(deps: LaunchDeps): LaunchService {
  const admit = createAdmission({ ...deps, rejections: deps.metrics.admissionRejections });
  const follower = createFollower(deps);
  const attachments = createAttachments(deps.reattachGraceMs);
  const stateful = createStatefulHooks(
    createStatefulRuns({ ttlMs: deps.statefulTtlMs, clock: deps.clock }),
  );
  const kindOf = (req: LaunchRequest) => runnerKindOf(deps, req);
  // What a store that outlives this process knows (another replica's run or failure, or this
  // process's before a restart); an in-memory store knows nothing the process does not.
  const persistent = deps.store.persistent;

  // Waits for the verdict while the caller waits; a caller that leaves hands the run over.
  async function waitForVerdict(
    handle: RunHandle,
    ctx: LaunchContext,
    run: Parameters<typeof answer>[1],
  ) {
    const release = attachments.hold(ctx.signal, handle);
    try {
      return answer(await handle.result, run);
    } finally {
      release();
    }
  }

  // The admitted run's start: secrets, script, runner, record, registry.
  async function start(req: LaunchRequest, ctx: LaunchContext, slots: Slots) {
    const { key, hook, picked, admitted, forPrimary } = slots;
    let handle = await begin(deps, req, ctx, admitted, picked).catch((err: unknown) => {
      forPrimary?.slot.release();
      throw err;
    });
    void handle.result.then(() => admitted.slot.release());
    if (req.compare) handle = await compared(deps, { req, ctx, key, picked, forPrimary }, handle);
    const { recorded } = await recordRun(deps, req, {
      handle,
      key,
      runner: picked.kind,
      logger: ctx.logger,
    });
    const dashboardUrl = dashboardLink(deps, req, handle.runId);
    deps.registry.track(handle, runInfo(req, ctx, handle, hook), recorded);
    const logger = ctx.logger.child({ runId: handle.runId, pid: handle.pid });
    logger.info('launched k6', {
      upload: req.uploadToCloud,
      wait: req.waitForResults,
      ...(dashboardUrl ? { dashboardUrl } : {}),
    });
    const run = { req, handle, key: admitted.key, logger, dashboardUrl, runner: picked.kind };
    return { run, release: attachments.hold(ctx.signal, handle) };
  }

  return {
    async launch(req, ctx) {
      const key = hookKeyOf(req); // one script digest per request
      const hook = hookId(key);
      if (req.mode === 'stateful') {
        const log = (msg: string, fields: LogFields) => ctx.logger.info(msg, fields);
        const known =
          stateful.answerFromState(req, hook, kindOf(req), log) ??
          (persistent
            ? await answerFromRecord(deps, req, { hook, runner: kindOf(req), log })
            : undefined);
        if (known) return known;
      }
      if (persistent && req.minFailureDelayMs > 0) {
        await learnFailure(deps, key, hook, ctx.logger);
      }
      const waited = req.mode === 'blocking' && req.waitForResults;
      const underWay = waited ? deps.registry.attachable(hook) : undefined;
      if (underWay) {
        ctx.logger.info(
          'attaching to the run already under way for this canary, phase and checksum',
          {
            runId: underWay.runId,
          },
        );
        return waitForVerdict(underWay, ctx, { runner: kindOf(req) });
      }
      const picked = pickRunner(deps, req);
      const slots = admitBoth(() => admit(req, key, picked.kind !== 'local'), req);
      if ('refused' in slots) return slots;
      const { run, release } = await start(req, ctx, { ...slots, key, hook, picked });
      try {
        const cloudUrl = await follower.checkStart(run, await run.handle.started);
        follower.follow(run, cloudUrl);
        if (req.mode === 'stateful') return stateful.started(req, hook, run.handle, run.runner);
        if (!req.waitForResults) {
          run.logger.info(
            `the load test for ${req.name}.${req.namespace} was launched successfully!`,
          );
          return { runId: run.handle.runId, body: '' };
        }
        run.logger.info('waiting for the results');
        const { runner, dashboardUrl } = run;
        return answer(await run.handle.result, { runner, cloudUrl, dashboardUrl });
      } finally {
        release();
      }
    },
  };
}

/** The runner a request names, else the daemon's default (--runner). */
const runnerKindOf = (deps: Pick<LaunchDeps, 'defaultRunner'>, req: LaunchRequest) =>
  req.runner ?? deps.defaultRunner;

/** What an admitted run starts with: its hook, its runner and its slots. */
interface Slots {
  key: HookKey;
  hook: string;
  picked: { kind: RunnerKind; runner: Runner };
  admitted: Admitted;
  forPrimary: Admitted | undefined;
}

// The run's slot, and the primary's baseline run's own slot (compare with baseline primary),
// both taken before either run starts: none is kept when the second is refused.
function admitBoth(
  admit: () => Admitted | Refused,
  req: LaunchRequest,
): Pick<Slots, 'admitted' | 'forPrimary'> | Refused {
  const admitted = admit();
  if ('refused' in admitted) return admitted;
  if (req.compare?.baseline !== 'primary') return { admitted, forPrimary: undefined };
  const forPrimary = admit();
  if ('refused' in forPrimary) {
    admitted.slot.release();
    return forPrimary;
  }
  return { admitted, forPrimary };
}

// The run judged against its baseline: the primary's run started beside it (with
// baseline_env_vars), or the last promoted revision's stored summary.
async function compared(
  deps: LaunchDeps,
  c: {
    req: LaunchRequest;
    ctx: LaunchContext;
    key: HookKey;
    picked: { kind: RunnerKind; runner: Runner };
    forPrimary: Admitted | undefined;
  },
  handle: RunHandle,
): Promise<RunHandle> {
  const options = c.req.compare as CompareOptions;
  if (!c.forPrimary) {
    const canary = { ...c.key, checksum: c.req.checksum };
    return withComparison(handle, options, { load: lastPromotedBaseline(deps.store, canary) });
  }
  const admitted = c.forPrimary;
  const envVars = { ...c.req.envVars, ...options.baselineEnvVars };
  let primary: RunHandle;
  try {
    primary = await begin(deps, { ...c.req, envVars }, c.ctx, admitted, c.picked, 'baseline');
  } catch (err) {
    handle.cancel('baseline-failed');
    throw err;
  }
  void primary.result.then(() => admitted.slot.release());
  deps.registry.trackTask(primary.released ?? primary.result); // released settles after result
  c.ctx.logger.info("launched the primary's run to compare with", {
    runId: handle.runId,
    baselineRunId: primary.runId,
  });
  return withComparison(handle, options, { load: primaryBaseline(primary), run: primary });
}

// A runner this daemon does not have is a bad request, refused before admission.
function pickRunner(deps: LaunchDeps, req: LaunchRequest): { kind: RunnerKind; runner: Runner } {
  const kind = runnerKindOf(deps, req);
  const runner = deps.runners[kind];
  if (!runner) {
    throw new NotEnabled(
      `runner "${kind}" is not enabled on this k6gate: pod runners need --kubernetes-client / KUBERNETES_CLIENT (chart: kubernetes.enabled=true and runners.enabled)`,
    );
  }
  deps.runnerRules(req, kind);
  return { kind, runner };
}

// Secrets (local runs only: pods get them by reference) and a ConfigMap script (read for pod
// runs too: a missing key is a 400 now, not a runner pod stuck mounting it), then the start.
async function begin(
  deps: LaunchDeps,
  req: LaunchRequest,
  ctx: LaunchContext,
  admitted: Admitted,
  { kind, runner }: { kind: RunnerKind; runner: Runner },
  role: 'canary' | 'baseline' = 'canary',
): Promise<RunHandle> {
  try {
    const local = kind === 'local';
    if (local) ctx.logger.info('fetching secrets (if any)', { secrets: req.secretRefs.length });
    const secrets = local ? await deps.secrets.resolve(req.secretRefs, ctx.signal) : {};
    const bundle = req.scriptConfigMap
      ? await deps.scripts.fetch(req.namespace, req.scriptConfigMap, ctx.signal)
      : undefined;
    const runId = deps.newRunId();
    // The caller's own stream (k6gate run's terminal) gets the canary's output only.
    const onOutput = (chunk: Uint8Array) => {
      if (role === 'canary') ctx.onOutput?.(chunk);
      deps.liveLogs.push(runId, chunk);
    };
    const run = { runId, secrets, bundle, onOutput, baseline: role === 'baseline' };
    return await runner.start(buildRunSpec(req, run, deps));
  } catch (err) {
    admitted.slot.release();
    // A 4xx about this canary counts as a failure; an unreachable dependency (5xx) or a feature
    // this k6gate does not enable (fixed by its operator, not by the canary) does not.
    if (err instanceof K6gateError && err.status < 500 && !(err instanceof NotEnabled)) {
      deps.failures.recordFailure(admitted.key);
    }
    throw err;
  }
}

// What the store knows of this hook's last failure (another replica's, or this process's before
// a restart), so the failure cache's window holds wherever the call lands.
async function learnFailure(deps: LaunchDeps, key: HookKey, hook: string, logger: Logger) {
  try {
    const at = await deps.store.failureAt(hook);
    if (at !== undefined) deps.failures.learn(key, at);
  } catch (err) {
    logger.error('cannot read the failure cache from the store', { err });
  }
}

/** What the registry keeps of a run: who asked, for which hook, in which mode. */
function runInfo(req: LaunchRequest, ctx: LaunchContext, handle: RunHandle, hook: string) {
  return {
    runId: handle.runId,
    requestId: ctx.requestId,
    namespace: req.namespace,
    name: req.name,
    phase: req.phase,
    mode: req.mode === 'stateful' ? 'stateful' : req.waitForResults ? 'wait' : 'async',
    hook,
    ...(handle.pid === undefined ? {} : { pid: handle.pid }),
    startedAt: handle.startedAt,
  } satisfies RunInfo;
}
