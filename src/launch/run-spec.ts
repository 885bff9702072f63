// A launch request turned into what a runner is asked to run (the runner seam's RunSpec): the
// script (inline, or a ConfigMap's bundle), env and secrets, the labels naming the hook's run in
// the cluster, pod options, and remote write tagged with the run's testid.

import type { LaunchRequest } from '../flagger/payload.ts';
import type { ScriptBundle } from '../k6/script-bundle.ts';
import { LABEL, runLabels } from '../kube/names.ts';
import type { RemoteWrite } from '../k6/invocation.ts';
import type { RunSpec } from '../runners/runner.ts';

export interface RunSpecSettings {
  /** How long a stateful hook answers with its verdict after the run ended. */
  statefulTtlMs: number;
  /** Remote write for every run ('' disables), how it authenticates, and the dashboard the
   * answers link to. */
  prometheusRwUrl: string;
  prometheusRwBearerToken: string;
  prometheusRwUsername: string;
  prometheusRwPassword: string;
  prometheusRwHeaders: Readonly<Record<string, string>>;
  prometheusRwNativeHistograms: boolean;
  grafanaUrl: string;
}

/** The RunSpec of one run: `secrets` are resolved values (local runs), `bundle` a ConfigMap's. */
export function buildRunSpec(
  req: LaunchRequest,
  run: {
    runId: string;
    secrets: Readonly<Record<string, string>>;
    bundle: ScriptBundle | undefined;
    onOutput: ((chunk: Uint8Array) => void) | undefined;
    /** The primary's run a canary's run is compared with: labelled so, in the cluster. */
    baseline?: boolean;
  },
  settings: RunSpecSettings,
): RunSpec {
  return {
    runId: run.runId,
    canary: `${req.namespace}/${req.name}`,
    scriptName: run.bundle?.entry ?? scriptFileName(req),
    script: req.script,
    bundle: run.bundle,
    uploadToCloud: req.uploadToCloud,
    envVars: req.envVars,
    secrets: run.secrets,
    namespace: req.namespace,
    labels: { ...runLabels(req), ...(run.baseline ? { [LABEL.role]: 'baseline' } : {}) },
    secretRefs: req.secretRefs,
    pod: req.pod,
    onOutput: run.onOutput,
    ...(req.k6Args ? { k6Args: req.k6Args } : {}),
    ...(req.mode === 'stateful' ? { keepForMs: settings.statefulTtlMs } : {}),
    ...(settings.prometheusRwUrl && req.prometheusRw
      ? { prometheusRw: remoteWriteOf(settings, testIdOf(req, run.runId)) }
      : {}),
  };
}

function remoteWriteOf(s: RunSpecSettings, testId: string): RemoteWrite {
  return {
    url: s.prometheusRwUrl,
    testId,
    headers: s.prometheusRwHeaders,
    nativeHistograms: s.prometheusRwNativeHistograms,
    auth: {
      ...(s.prometheusRwBearerToken ? { bearerToken: s.prometheusRwBearerToken } : {}),
      ...(s.prometheusRwUsername
        ? { username: s.prometheusRwUsername, password: s.prometheusRwPassword }
        : {}),
    },
  };
}

/** The run's `testid` tag in remote write: namespace/name/run id. */
function testIdOf(req: Pick<LaunchRequest, 'namespace' | 'name'>, runId: string): string {
  return `${req.namespace}/${req.name}/${runId}`;
}

/** The k6 dashboard (--grafana-url) filtered on the run's testid, when the run remote-writes. */
export function dashboardLink(
  settings: Pick<RunSpecSettings, 'prometheusRwUrl' | 'grafanaUrl'>,
  req: LaunchRequest,
  runId: string,
): string | undefined {
  if (!settings.grafanaUrl || !settings.prometheusRwUrl || !req.prometheusRw) return undefined;
  const sep = settings.grafanaUrl.includes('?') ? '&' : '?';
  return `${settings.grafanaUrl}${sep}var-testid=${encodeURIComponent(testIdOf(req, runId))}`;
}

/** A stable script name, so k6 Cloud groups the runs of one canary under one test name. */
function scriptFileName(req: Pick<LaunchRequest, 'namespace' | 'name'>): string {
  return `${req.namespace}-${req.name}.js`.replace(/[^A-Za-z0-9._-]/g, '_');
}
