// A run's log as it is written, for Server-Sent Events: what k6 printed so far, then each chunk
// as it comes (local runs: each chunk; pod runs: what runner 1's followed log grew by), and the
// verdict at the end, which carries every runner's output. A run that ended (or runs at another
// replica) gives its stored tail and verdict. The HTTP layer frames the events; this module never sees a socket.

import { wait } from '../core/timers.ts';
import { dropBanner } from '../k6/output.ts';
import type { RunHandle } from '../runners/runner.ts';
import type { Store } from '../store/store.ts';
import type { LiveLogs } from './live-logs.ts';
import type { RunRegistry } from './run-registry.ts';
import type { RunDetail, RunViews, Visible } from './run-views.ts';

export type LogEvent =
  | { event: 'output'; text: string }
  /** A run under way at another replica: its state, every POLL_MS. */
  | { event: 'state'; state: string; durationMs: number }
  | { event: 'verdict'; run: RunDetail };

/** How often a run without live chunks (pods, another replica) is looked at again. */
const POLL_MS = 2000;
/** A run under way elsewhere is followed at most this long (its replica renews a lease). */
const MAX_REMOTE_FOLLOW_MS = 6 * 60 * 60_000;

export function createRunLog(deps: {
  store: Store;
  registry: RunRegistry;
  liveLogs: LiveLogs;
  views: RunViews;
}) {
  return {
    /** Emits the run's log events until its verdict (or the caller leaves); NotFound first when
     * there is no such run the caller may see. */
    async follow(
      runId: string,
      visible: Visible,
      emit: (e: LogEvent) => void,
      signal: AbortSignal,
    ) {
      const detail = await deps.views.get(runId, visible);
      const live = deps.registry.live(runId);
      let sent = false;
      const counted = (e: LogEvent) => {
        if (e.event === 'output') sent = true;
        emit(e);
      };
      if (live) await followLive(live, detail.runner === 'local', deps.liveLogs, counted, signal);
      else if (detail.state === 'running') await pollStore(deps.store, runId, emit, signal);
      if (signal.aborted) return;
      const final = await settled(deps, runId, visible, signal);
      // An ended run, one at another replica, or a pod run whose log could not be followed.
      if (!sent && final.outputTail) emit({ event: 'output', text: final.outputTail });
      emit({ event: 'verdict', run: final });
    },
  };
}

// The output so far, then live chunks (or, for a pod run, what its output grew by).
async function followLive(
  handle: RunHandle,
  chunked: boolean,
  liveLogs: LiveLogs,
  emit: (e: LogEvent) => void,
  signal: AbortSignal,
) {
  let sent = dropBanner(handle.output());
  if (sent !== '') emit({ event: 'output', text: sent });
  const decoder = new TextDecoder();
  const stop = chunked
    ? liveLogs.follow(handle.runId, (c) =>
        emit({ event: 'output', text: decoder.decode(c, { stream: true }) }),
      )
    : () => {};
  try {
    const ended = handle.result.then(() => true);
    while (!signal.aborted) {
      const done = await Promise.race([ended, wait(POLL_MS, signal).then(() => signal.aborted)]);
      if (!chunked) sent = emitGrowth(dropBanner(handle.output()), sent, emit);
      if (done) return;
    }
  } finally {
    stop();
  }
}

// What a re-read output added, sent once.
function emitGrowth(now: string, sent: string, emit: (e: LogEvent) => void): string {
  if (now === sent) return sent;
  const text = added(now, sent);
  if (text !== '') emit({ event: 'output', text });
  return now;
}

/** How much of the end of what was sent lines a re-read output up with it. */
const ANCHOR_CHARS = 256;

// A buffer bounded to its tail (a pod run's followed log) drops its start: what follows the end
// of what was sent is new (the first place it appears: a repeat is sent twice, never lost). One
// that cannot be lined up (a buffer that dropped its middle) is sent whole again.
function added(now: string, sent: string): string {
  if (now.startsWith(sent)) return now.slice(sent.length);
  const anchor = sent.slice(-ANCHOR_CHARS);
  const at = anchor === '' ? -1 : now.indexOf(anchor);
  return at === -1 ? `\n${now}` : now.slice(at + anchor.length);
}

async function pollStore(
  store: Store,
  runId: string,
  emit: (e: LogEvent) => void,
  signal: AbortSignal,
) {
  const until = Date.now() + MAX_REMOTE_FOLLOW_MS;
  while (!signal.aborted && Date.now() < until) {
    const r = await store.run(runId);
    if (!r || r.verdict !== null) return;
    emit({ event: 'state', state: 'running', durationMs: Date.now() - r.startedAt });
    await wait(POLL_MS, signal);
  }
}

// The stored run once its verdict is recorded: a run of this process says when; another
// replica's is polled a while.
async function settled(
  deps: { views: RunViews; registry: RunRegistry },
  runId: string,
  visible: Visible,
  signal: AbortSignal,
): Promise<RunDetail> {
  const recorded = deps.registry.recorded(runId);
  if (recorded) await Promise.race([recorded, aborted(signal)]);
  for (let i = 0; i < 50 && !signal.aborted; i++) {
    const detail = await deps.views.get(runId, visible).catch(() => undefined);
    if (detail && detail.state !== 'running') return detail;
    await wait(100, signal);
  }
  return deps.views.get(runId, visible);
}

// Settles when the caller leaves (a store write stuck on its database does not hold the stream).
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
