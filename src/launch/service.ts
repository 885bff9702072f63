// The launch service: admission → secrets → runner.start → (wait) → verdict. Plain TypeScript:
// the HTTP layer decodes and renders. A caller that goes away before the run started (or, for
// waited runs, before the verdict) cancels it. What happens once a verdict is known (logs,
// metrics, failure cache, Slack) is in verdict.ts.

import type { Clock } from '../core/clock.ts';
import { K6gateError, Misconfigured, ShuttingDown, TestFailed } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import type { SecretSource } from '../kube/secret-source.ts';
import type { ScriptSource } from '../kube/script-source.ts';
import type { Notifier } from '../notify/notifier.ts';
import { describeExit, type RunHandle, type Runner, type RunResult } from '../runners/runner.ts';
import { createAdmission, hookKeyOf, type Admitted } from './admission.ts';
import { hookId, type FailureCache } from './failure-cache.ts';
import { createAttachments } from './attach.ts';
import { createStatefulRuns } from './stateful.ts';
import type { RunnerRules } from './policy.ts';
import type { RunRegistry } from './run-registry.ts';
import { buildVerdictReport, type VerdictReport } from './verdict-report.ts';
import type { Semaphore } from './semaphore.ts';
import { createVerdicts, type VerdictMetrics } from './verdict.ts';

export interface LaunchDeps {
  /** The runner of each kind this daemon can use; `defaultRunner` when a request names none. */
  runners: Partial<Record<RunnerKind, Runner>>;
  defaultRunner: RunnerKind;
  notifier: Notifier;
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
  /** How long a stateful hook answers with its verdict after the run ended. */
  statefulTtlMs: number;
  /** Remote write for every run ('' disables) and the dashboard the answers link to. */
  prometheusRwUrl: string;
  grafanaUrl: string;
}

interface LaunchContext {
  requestId: string;
  /** Aborts when the caller goes away (reason 'interrupted': `k6gate run`'s Ctrl-C). */
  signal: AbortSignal;
  logger: Logger;
  /** Each chunk of k6's output as it comes (local runs). */
  onOutput?: (chunk: Uint8Array) => void;
}

interface LaunchOutcome {
  runId: string;
  /** 202 for a stateful hook's run under way (started, or still running); else 200. */
  status?: 200 | 202;
  /** The body of the 200 answer: k6's output for waited runs, empty for async ones. */
  body: string;
  /** The verdict as an object (waited runs), for `Accept: application/json`. */
  report?: VerdictReport;
}

export interface LaunchService {
  launch(req: LaunchRequest, ctx: LaunchContext): Promise<LaunchOutcome>;
}

/** @example const service = createLaunchService(deps); await service.launch(req, ctx); */
export function createLaunchService(deps: LaunchDeps): LaunchService {
  const admit = createAdmission({ ...deps, rejections: deps.metrics.admissionRejections });
  const verdicts = createVerdicts(deps);

  // A runner this daemon does not have is a bad request, refused before admission.
  function pickRunner(req: LaunchRequest): { kind: RunnerKind; runner: Runner } {
    const kind = req.runner ?? deps.defaultRunner;
    const runner = deps.runners[kind];
    if (!runner) {
      throw new Misconfigured(
        `runner "${kind}" is not enabled on this k6gate: pod runners need --kubernetes-client / KUBERNETES_CLIENT (chart: kubernetes.enabled=true and runners.enabled)`,
      );
    }
    deps.runnerRules(req, kind);
    return { kind, runner };
  }

  async function begin(
    req: LaunchRequest,
    ctx: LaunchContext,
    admitted: Admitted,
    { kind, runner }: { kind: RunnerKind; runner: Runner },
    runId: string,
  ): Promise<RunHandle> {
    try {
      // Pod runs get secrets by reference (secretKeyRef); only local runs need their values.
      const local = kind === 'local';
      if (local) ctx.logger.info('fetching secrets (if any)', { secrets: req.secretRefs.length });
      const secrets = local ? await deps.secrets.resolve(req.secretRefs, ctx.signal) : {};
      // A ConfigMap script is read (and checked) for pod runs too: a missing key is a 400 now,
      // not a runner pod stuck mounting it.
      const bundle = req.scriptConfigMap
        ? await deps.scripts.fetch(req.namespace, req.scriptConfigMap, ctx.signal)
        : undefined;
      return await runner.start({
        runId,
        canary: `${req.namespace}/${req.name}`,
        scriptName: bundle?.entry ?? scriptFileName(req),
        script: req.script,
        bundle,
        uploadToCloud: req.uploadToCloud,
        envVars: req.envVars,
        secrets,
        namespace: req.namespace,
        labels: runLabels(req),
        secretRefs: req.secretRefs,
        pod: req.pod,
        onOutput: ctx.onOutput,
        ...(req.mode === 'stateful' ? { keepForMs: deps.statefulTtlMs } : {}),
        ...(deps.prometheusRwUrl && req.prometheusRw
          ? { prometheusRw: { url: deps.prometheusRwUrl, testId: testIdOf(req, runId) } }
          : {}),
      });
    } catch (err) {
      admitted.slot.release();
      // A 4xx about this canary counts as a failure; an unreachable dependency (5xx) does not.
      if (err instanceof K6gateError && err.status < 500) deps.failures.recordFailure(admitted.key);
      throw err;
    }
  }

  const attachments = createAttachments(deps.reattachGraceMs);
  const stateful = createStatefulRuns({ ttlMs: deps.statefulTtlMs, clock: deps.clock });

  // A stateful hook's later calls answer from the run's state, never start a second run.
  function answerFromState(req: LaunchRequest, hook: string, ctx: LaunchContext) {
    const state = stateful.lookup(statefulSlot(req), hook);
    if (state.kind === 'none') return undefined;
    ctx.logger.info('stateful hook: answering from the run', {
      runId: state.kind === 'running' ? state.progress.runId : state.result.runId,
      state: state.kind === 'running' ? 'running' : state.result.verdict,
    });
    if (state.kind === 'running') return { ...state.progress, status: 202 as const };
    return answer(state.result, { runner: req.runner ?? deps.defaultRunner });
  }

  // The first call of a stateful hook: 202 started — or the verdict, when the run attached to
  // had one already (a pod run another replica finished).
  function startedStatefully(
    req: LaunchRequest,
    hook: string,
    handle: RunHandle,
    kind: RunnerKind,
  ) {
    stateful.remember(statefulSlot(req), hook, handle);
    if (Bun.peek.status(handle.result) === 'fulfilled') {
      return answer(Bun.peek(handle.result) as RunResult, { runner: kind });
    }
    return { runId: handle.runId, status: 202 as const, body: `started: run ${handle.runId}\n` };
  }

  // Holds the run while this caller waits; a caller that leaves hands it to the attachments.
  function holdWhileCallerWaits(signal: AbortSignal, handle: RunHandle): () => void {
    attachments.join(handle);
    const onGone = () =>
      attachments.leave(handle, signal.reason === 'interrupted' ? 'interrupted' : 'client-gone');
    if (signal.aborted) onGone();
    else signal.addEventListener('abort', onGone, { once: true });
    return () => signal.removeEventListener('abort', onGone);
  }

  // A retried blocking call (Flagger's, after its client timeout) waits on the run under way.
  async function attach(
    handle: RunHandle,
    req: LaunchRequest,
    ctx: LaunchContext,
  ): Promise<LaunchOutcome> {
    ctx.logger.info('attaching to the run already under way for this canary, phase and checksum', {
      runId: handle.runId,
    });
    const release = holdWhileCallerWaits(ctx.signal, handle);
    try {
      return answer(await handle.result, { runner: req.runner ?? deps.defaultRunner });
    } finally {
      release();
    }
  }

  return {
    async launch(req, ctx) {
      const key = hookKeyOf(req); // one script digest per request
      const hook = hookId(key);
      if (req.mode === 'stateful') {
        const known = answerFromState(req, hook, ctx);
        if (known) return known;
      }
      const waited = req.mode === 'blocking' && req.waitForResults;
      const underWay = waited ? deps.registry.attachable(hook) : undefined;
      if (underWay) return attach(underWay, req, ctx);
      const picked = pickRunner(req);
      const admitted = admit(req, key, picked.kind !== 'local');
      const runId = deps.newRunId();
      const handle = await begin(req, ctx, admitted, picked, runId);
      const dashboardUrl = dashboardLink(deps, req, runId);
      void handle.result.then(() => admitted.slot.release());
      deps.registry.track(handle, {
        runId: handle.runId,
        requestId: ctx.requestId,
        namespace: req.namespace,
        name: req.name,
        phase: req.phase,
        mode: req.mode === 'stateful' ? 'stateful' : req.waitForResults ? 'wait' : 'async',
        hook,
        ...(handle.pid === undefined ? {} : { pid: handle.pid }),
        startedAt: handle.startedAt,
      });
      const run = {
        req,
        handle,
        key: admitted.key,
        logger: ctx.logger.child({ runId: handle.runId, pid: handle.pid }),
        dashboardUrl,
        runner: picked.kind,
      };
      run.logger.info('launched k6', {
        upload: req.uploadToCloud,
        wait: req.waitForResults,
        ...(dashboardUrl ? { dashboardUrl } : {}),
      });

      const release = holdWhileCallerWaits(ctx.signal, handle);
      try {
        const cloudUrl = await verdicts.checkStart(run, await handle.started);
        verdicts.follow(run, cloudUrl);
        if (req.mode === 'stateful') return startedStatefully(req, hook, handle, picked.kind);
        if (!req.waitForResults) {
          run.logger.info(
            `the load test for ${req.name}.${req.namespace} was launched successfully!`,
          );
          return { runId: handle.runId, body: '' };
        }
        run.logger.info('waiting for the results');
        return answer(await handle.result, { runner: picked.kind, cloudUrl, dashboardUrl });
      } finally {
        release();
      }
    },
  };
}

// The verdict as Flagger reads it: k6's output (200) or the reason first (400); a dashboard link,
// when there is one, as the last line.
function answer(result: RunResult, run: Parameters<typeof buildVerdictReport>[1]): LaunchOutcome {
  const link = run.dashboardUrl ? `\nk6gate: dashboard: ${run.dashboardUrl}\n` : '';
  const report = buildVerdictReport(result, run);
  if (result.verdict === 'passed') {
    return { runId: result.runId, body: result.output + link, report };
  }
  if (result.cancelReason === 'shutdown') throw new ShuttingDown();
  const reason = `failed to run: ${describeExit(result)} (${result.reason})`;
  throw new TestFailed(reason, result.output + link, report);
}

/** One stateful run at a time per canary and phase; its identity (checksum, script) varies. */
function statefulSlot(req: Pick<LaunchRequest, 'namespace' | 'name' | 'phase'>): string {
  return JSON.stringify([req.namespace, req.name, req.phase]);
}

/** The run's `testid` tag in remote write: namespace/name/run id. */
function testIdOf(req: Pick<LaunchRequest, 'namespace' | 'name'>, runId: string): string {
  return `${req.namespace}/${req.name}/${runId}`;
}

/** The k6 dashboard (--grafana-url) filtered on the run's testid, when the run remote-writes. */
function dashboardLink(
  deps: Pick<LaunchDeps, 'prometheusRwUrl' | 'grafanaUrl'>,
  req: LaunchRequest,
  runId: string,
): string | undefined {
  if (!deps.grafanaUrl || !deps.prometheusRwUrl || !req.prometheusRw) return undefined;
  const sep = deps.grafanaUrl.includes('?') ? '&' : '?';
  return `${deps.grafanaUrl}${sep}var-testid=${encodeURIComponent(testIdOf(req, runId))}`;
}

/** Labels on every object of a pod run, so any replica can find it again. Values are label-safe:
 * a canary name longer than 63 characters is cut and suffixed with a digest. */
function runLabels(req: LaunchRequest): Record<string, string> {
  const safe = (v: string) =>
    v.length <= 63
      ? v
      : `${v.slice(0, 50)}-${new Bun.CryptoHasher('sha256').update(v).digest('hex').slice(0, 12)}`;
  return {
    'app.kubernetes.io/managed-by': 'k6gate',
    'k6gate.io/canary-namespace': req.namespace,
    'k6gate.io/canary-name': safe(req.name),
    'k6gate.io/phase': safe(req.phase),
    'k6gate.io/checksum': safe(
      req.checksum.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, ''),
    ),
  };
}

/** A stable script name, so k6 Cloud groups the runs of one canary under one test name. */
function scriptFileName(req: Pick<LaunchRequest, 'namespace' | 'name'>): string {
  return `${req.namespace}-${req.name}.js`.replace(/[^A-Za-z0-9._-]/g, '_');
}
