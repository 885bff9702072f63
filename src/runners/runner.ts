// The runner seam: what the launch service asks of any way to run a k6 test (a local child
// process, a Job, a k6-operator TestRun), with its own types: a caller's request format
// (Flagger's payload, `k6gate run`'s flags) never reaches a runner. One run = one RunHandle; its
// result never rejects and is built by runResult().

import type { Comparison } from '../k6/compare.ts';
import type { Verdict } from '../k6/exit-codes.ts';
import type { RemoteWrite } from '../k6/invocation.ts';
import type { ScriptBundle } from '../k6/script-bundle.ts';
import type { SummaryExport } from '../k6/summary-export.ts';

/** A Secret value a run gets as an environment variable (by reference in pods). */
interface SecretRef {
  env: string;
  namespace: string;
  name: string;
  key: string;
}

interface ResourceList {
  cpu?: string;
  memory?: string;
  'ephemeral-storage'?: string;
}
export interface RunnerResources {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** How runner pods look; a local run has none set. */
interface PodOptions {
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** Runner pods (k6-operator); undefined: one. */
  parallelism: number | undefined;
  /** One runner per node (k6-operator `separate`). */
  separate: boolean;
  /** undefined: the daemon's --runner-resources. */
  resources: RunnerResources | undefined;
  nodeSelector: Readonly<Record<string, string>>;
  tolerations: readonly {
    key?: string;
    operator?: 'Exists' | 'Equal';
    value?: string;
    effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
    tolerationSeconds?: number;
  }[];
  /** A k6 image other than the daemon's --runner-image. */
  image: string | undefined;
}

export type CancelReason =
  | 'timeout'
  | 'client-gone'
  | 'shutdown'
  | 'start-timeout'
  | 'cloud-url-missing'
  /** `k6gate run` was interrupted (Ctrl-C). */
  | 'interrupted'
  /** A stateful hook was called for a new revision (checksum or script) of the canary. */
  | 'superseded'
  /** The primary's run a canary's run is compared with could not start. */
  | 'baseline-failed';

export interface RunSpec {
  runId: string;
  /** `namespace/name`, for logs. */
  canary: string;
  /** File name of the script inside the run directory (k6 Cloud uses it as the test name). */
  scriptName: string;
  /** The inline script; unused when `bundle` is set. */
  script: string;
  /** A ConfigMap's files (script_configmap): the entry is run, the rest laid out beside it
   * (local runs) or the ConfigMap mounted by reference (pod runs). */
  bundle?: ScriptBundle | undefined;
  uploadToCloud: boolean;
  /** Prometheus remote write for this run (--prometheus-rw-url), tagged testid. */
  prometheusRw?: RemoteWrite | undefined;
  envVars: Readonly<Record<string, string>>;
  /** Resolved secret values (local runs). */
  secrets: Readonly<Record<string, string>>;
  /** The canary's namespace and labels naming the run (pod runners create objects there). */
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Secret references, passed by reference to pod runners (never read by k6gate for them). */
  secretRefs: readonly SecretRef[];
  /** How runner pods look: labels, annotations (e.g. to keep a mesh sidecar out), parallelism,
   * resources, placement, image. Local runs have none set. */
  pod: Readonly<PodOptions>;
  /** A stateful hook's pod run: keep the run object this long after the verdict, with the
   * verdict on it, so any replica answers (pods/state.ts). Local runs ignore it. */
  keepForMs?: number | undefined;
  /** Each chunk of k6's output as it comes (`k6gate run` streams it to the terminal). */
  onOutput?: ((chunk: Uint8Array) => void) | undefined;
  /** k6 run's own flags (`k6gate run … -- <flags>`), before the script. */
  k6Args?: readonly string[] | undefined;
}

export type StartOutcome =
  | { kind: 'started'; cloudUrl: string | undefined }
  | { kind: 'exited' }
  /** `stuck` says what held the start up (a pod's waiting reason), when known. */
  | { kind: 'timeout'; stuck?: string };

export interface RunResult {
  runId: string;
  exitCode: number | null;
  signal: string | null;
  verdict: Verdict;
  /** One line: why the run passed or failed. */
  reason: string;
  durationMs: number;
  /** Why k6gate stopped the run, if it did. */
  cancelReason: CancelReason | undefined;
  /** k6's --summary-export (local runs), when k6 wrote one. */
  summary?: SummaryExport | undefined;
  /** The comparison with a baseline (metadata `compare`), which may have decided the verdict. */
  comparison?: Comparison | undefined;
  /** Bounded: head and tail of what k6 printed. */
  output: string;
  truncated: boolean;
  outputBytes: number;
}

/** A RunResult from what its producer knows; the rest takes defaults (no exit, no signal, not
 * canceled, output whole). */
export function runResult(
  r: Pick<RunResult, 'runId' | 'verdict' | 'reason' | 'durationMs' | 'output'> &
    Partial<Omit<RunResult, 'outputBytes'>> & { outputBytes?: number },
): RunResult {
  return {
    exitCode: null,
    signal: null,
    cancelReason: undefined,
    truncated: false,
    outputBytes: r.outputBytes ?? Buffer.byteLength(r.output),
    ...r,
  };
}

/** Why a caller stopped waiting, carried as an AbortSignal's reason: `k6gate run`'s Ctrl-C is
 * `interrupted`; any other abort (a client that went away) is `client-gone`. */
export class CallerGone {
  constructor(readonly reason: 'interrupted' | 'client-gone') {}
}

/** The cancel reason an aborted caller's signal carries. */
export function callerGoneReason(signal: AbortSignal): 'interrupted' | 'client-gone' {
  return signal.reason instanceof CallerGone ? signal.reason.reason : 'client-gone';
}

export interface RunHandle {
  readonly runId: string;
  /** The k6 process (local runs); pod runs have none. */
  readonly pid?: number;
  readonly startedAt: number;
  /** Settles when k6 printed its banner, exited, or the start timeout passed, whichever first. */
  readonly started: Promise<StartOutcome>;
  /** Settles once, after the run ended: its verdict read and its processes gone. Never rejects. */
  readonly result: Promise<RunResult>;
  /** Settles after `result`, once the files the run held are removed (a local run's directory,
   * removed after the answer: the caller does not wait for a script's leftovers). Never rejects;
   * shutdown waits for it (the registry tracks it). */
  readonly released?: Promise<void>;
  /** Stops the run (SIGTERM, then SIGKILL after the grace). The first reason wins. */
  cancel(reason: CancelReason): void;
  /** The output so far, bounded. */
  output(): string;
  /** A verdict another replica recorded (a stateful pod run): answered here, but its Slack
   * messages, metrics and verdict log were that replica's and are not repeated. */
  readonly replayed?: boolean;
}

export interface Runner {
  /** Starts k6; throws TestFailed('error while launching test: …') when it cannot. */
  start(spec: RunSpec): Promise<RunHandle>;
}

/** Why a run did not pass, as the answer and the Canary's event say it: the original's
 * `failed to run: exit status 99 (…)`, or the comparison's reason when k6 itself passed. */
export function describeFailure(result: RunResult): string {
  if (result.comparison && result.exitCode === 0) return result.reason;
  return `failed to run: ${describeExit(result)} (${result.reason})`;
}

/** The original's wording for a non-passing process: `exit status N` or `signal: killed`. */
export function describeExit(result: Pick<RunResult, 'exitCode' | 'signal'>): string {
  if (result.exitCode !== null) return `exit status ${result.exitCode}`;
  if (result.signal === null) return 'no exit status'; // a pod run: evicted, or never ran k6
  return result.signal === 'SIGKILL' ? 'signal: killed' : `signal: ${result.signal ?? 'unknown'}`;
}
