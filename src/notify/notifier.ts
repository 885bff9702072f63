// The notifier seam: where run events go (Slack, or nowhere). Implementations never throw:
// a notification problem is logged and never changes a verdict.

export interface NotifyTarget {
  /** Slack channel names or IDs, trimmed, no empties. Empty ⇒ nothing is sent. */
  channels: string[];
  name: string;
  namespace: string;
  /** notification_context as the caller sent it (untrusted text). May be ''. */
  context: string;
  /** The k6 Cloud results URL, when the run uploads there. */
  cloudUrl?: string;
  /** The k6 dashboard in Grafana filtered on the run (remote write with --grafana-url). */
  dashboardUrl?: string | undefined;
}

/** How a run ended, for the final message. */
export interface RunOutcome {
  verdict: 'succeeded' | 'failed';
  /** One line: why (e.g. "thresholds crossed"). */
  reason: string;
  durationMs: number;
  /** Flagger's phase of the hook call (e.g. Progressing). */
  phase: string;
  /** Each compare rule with its two values, when the run was compared with a baseline. */
  comparison?: string[] | undefined;
}

/** Opaque handle returned by `started`, passed back to `finished`. */
export interface NotifyThreads {
  /** channel ID (as Slack returned it) → ts of the "has started" message */
  readonly threads: ReadonlyMap<string, string>;
}

export interface Notifier {
  /** ":warning: Load testing of `name` in namespace `ns` has started" in every channel. */
  started(target: NotifyTarget): Promise<NotifyThreads>;
  /** Uploads `output` (without k6's logo) as k6-results.txt into each thread, then updates each
   * start message to ":large_green_circle: … has succeeded" or ":red_circle: … has failed",
   * followed by the verdict's reason, the duration and the phase. */
  finished(
    target: NotifyTarget,
    threads: NotifyThreads,
    outcome: RunOutcome,
    output: string,
  ): Promise<void>;
  /** ":red_circle: … didn't start successfully" as a new message, with the output in its thread. */
  didNotStart(target: NotifyTarget, output: string): Promise<void>;
}

/** The name of the k6 output file uploaded into each Slack thread. */
export const RESULTS_FILE_NAME = 'k6-results.txt';
