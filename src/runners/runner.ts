// The runner seam: what the launch service asks of any way to run a k6 test (a local child
// process today; pods later). One run = one RunHandle; its result never rejects.

import type { SecretRefSpec } from '../flagger/payload.ts';
import type { PodOptions } from '../flagger/pod-options.ts';
import type { Verdict } from '../k6/exit-codes.ts';
import type { ScriptBundle } from '../k6/script-bundle.ts';
import type { SummaryExport } from '../k6/summary-export.ts';

export type CancelReason =
  | 'timeout'
  | 'client-gone'
  | 'shutdown'
  | 'start-timeout'
  | 'cloud-url-missing'
  /** `k6gate run` was interrupted (Ctrl-C). */
  | 'interrupted'
  /** A stateful hook was called for a new revision (checksum or script) of the canary. */
  | 'superseded';

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
  prometheusRw?: { url: string; testId: string } | undefined;
  envVars: Readonly<Record<string, string>>;
  /** Resolved secret values (local runs). */
  secrets: Readonly<Record<string, string>>;
  /** The canary's namespace and labels naming the run (pod runners create objects there). */
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Secret references, passed by reference to pod runners (never read by k6gate for them). */
  secretRefs: readonly SecretRefSpec[];
  /** How runner pods look: labels, annotations (e.g. to keep a mesh sidecar out), parallelism,
   * resources, placement, image. Local runs have none set. */
  pod: Readonly<PodOptions>;
  /** A stateful hook's pod run: keep the run object this long after the verdict, with the
   * verdict on it, so any replica answers (pod-state.ts). Local runs ignore it. */
  keepForMs?: number | undefined;
  /** Each chunk of k6's output as it comes (`k6gate run` streams it to the terminal). */
  onOutput?: ((chunk: Uint8Array) => void) | undefined;
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
  timedOut: boolean;
  canceled: boolean;
  cancelReason: CancelReason | undefined;
  forceKilled: boolean;
  thresholds: string[];
  /** k6's --summary-export (local runs), when k6 wrote one. */
  summary?: SummaryExport | undefined;
  /** Bounded: head and tail of what k6 printed. */
  output: string;
  truncated: boolean;
  outputBytes: number;
}

export interface RunHandle {
  readonly runId: string;
  /** The k6 process (local runs); pod runs have none. */
  readonly pid?: number;
  readonly startedAt: number;
  /** Settles when k6 printed its banner, exited, or the start timeout passed, whichever first. */
  readonly started: Promise<StartOutcome>;
  /** Settles once, after the run ended and everything it held was released. Never rejects. */
  readonly result: Promise<RunResult>;
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

/** The original's wording for a non-passing process: `exit status N` or `signal: killed`. */
export function describeExit(result: Pick<RunResult, 'exitCode' | 'signal'>): string {
  if (result.exitCode !== null) return `exit status ${result.exitCode}`;
  if (result.signal === null) return 'no exit status'; // a pod run: evicted, or never ran k6
  return result.signal === 'SIGKILL' ? 'signal: killed' : `signal: ${result.signal ?? 'unknown'}`;
}
