// Stateful rollout hooks (metadata mode: "stateful"). Flagger calls a rollout hook at every
// analysis interval; the first call for a canary + phase starts the run and answers 202
// `started`, each later call answers from the run's state: still running → 202 with the elapsed
// time and k6's last progress line; passed → 200 with the summary; failed → 400 with the reason
// (Flagger counts 200–202 as success, so the analysis goes on while the test runs and halts the
// interval it fails). The verdict is kept --stateful-ttl, then forgotten, and only the tail of
// its output (STATEFUL_TAIL_BYTES, where k6 prints its summary) with no handle on the run; at
// most MAX_ENTRIES are kept, MAX_PER_NAMESPACE for one namespace, the oldest verdict forgotten
// first. A call whose checksum or script differs (a new revision) ends the old run and starts
// afresh. This state is the
// replica's own; pod runs also keep theirs on the run object (runners/pods/state.ts), so a call that lands
// on another replica attaches to the run there.

import type { Clock } from '../core/clock.ts';
import type { LogFields } from '../core/log.ts';
import type { LaunchRequest, RunnerKind } from '../flagger/payload.ts';
import { findLastLine, lastLine } from '../k6/output.ts';
import type { RunHandle, RunResult } from '../runners/runner.ts';
import { answer, type LaunchOutcome } from './answer.ts';

/** A 202 answer while the run goes on. */
interface Progress {
  runId: string;
  body: string;
}

/** What a kept verdict keeps of k6's output: its end, where the summary is. */
const STATEFUL_TAIL_BYTES = 32 * 1024;
const MAX_ENTRIES = 2000;
const MAX_PER_NAMESPACE = 200;

interface Entry {
  /** The hook's identity (checksum and script digest): a different one is a new revision. */
  identity: string;
  namespace: string;
  /** The run while it goes on; dropped with its output buffer once it ends. */
  handle?: RunHandle;
  result?: RunResult;
  /** When the verdict stops being answered (verdict time + TTL). */
  expiresAt?: number;
}

type StatefulState =
  { kind: 'none' } | { kind: 'running'; progress: Progress } | { kind: 'ended'; result: RunResult };

export interface StatefulRuns {
  /** This call's state. A run of another identity in the same slot is ended (`superseded`). */
  lookup(slot: string, identity: string): StatefulState;
  /** Remembers a run that just started for `slot` (of `namespace`). */
  remember(slot: string, identity: string, namespace: string, handle: RunHandle): void;
  /** Entries kept now. */
  size(): number;
}

export function createStatefulRuns(opts: { ttlMs: number; clock: Clock }): StatefulRuns {
  const slots = new Map<string, Entry>();

  // Forgets verdicts past their TTL (on every call: a few entries per canary at most).
  function expire() {
    const now = opts.clock.now();
    for (const [slot, e] of slots)
      if (e.expiresAt !== undefined && e.expiresAt <= now) slots.delete(slot);
  }

  // The answer of a run under way: elapsed time and k6's last progress line.
  function progress(handle: RunHandle): Progress {
    const seconds = Math.round((opts.clock.now() - handle.startedAt) / 1000);
    const last = lastProgressLine(handle.output());
    return {
      runId: handle.runId,
      body: `running for ${seconds}s${last ? `: ${last}` : ''}\n`,
    };
  }

  // Room for one more entry of `namespace`: the oldest verdict (of that namespace when it is at
  // its share) goes. Runs under way are never dropped; the run slots bound them.
  function makeRoom(namespace: string) {
    const ofNamespace = [...slots.values()].filter((e) => e.namespace === namespace).length;
    const full = slots.size >= MAX_ENTRIES;
    if (!full && ofNamespace < MAX_PER_NAMESPACE) return;
    for (const [slot, e] of slots) {
      if (e.result && (full || e.namespace === namespace)) {
        slots.delete(slot);
        return;
      }
    }
  }

  return {
    lookup(slot, identity) {
      expire();
      const e = slots.get(slot);
      if (!e) return { kind: 'none' };
      if (e.identity !== identity) {
        slots.delete(slot);
        if (!e.result) e.handle?.cancel('superseded');
        return { kind: 'none' };
      }
      if (e.result) return { kind: 'ended', result: e.result };
      if (!e.handle) return { kind: 'none' };
      return { kind: 'running', progress: progress(e.handle) };
    },
    remember(slot, identity, namespace, handle) {
      expire();
      slots.delete(slot);
      makeRoom(namespace);
      const entry: Entry = { identity, namespace, handle };
      slots.set(slot, entry);
      void handle.result.then((result) => {
        entry.result = keepTail(result);
        entry.handle = undefined;
        entry.expiresAt = opts.clock.now() + opts.ttlMs;
      });
    },
    size: () => slots.size,
  };
}

/** The verdict with only the end of k6's output. */
function keepTail(result: RunResult): RunResult {
  if (result.output.length <= STATEFUL_TAIL_BYTES) return result;
  const tail = result.output.slice(-STATEFUL_TAIL_BYTES);
  const cut = result.output.length - tail.length;
  return {
    ...result,
    output: `[… ${cut} characters of k6 output not kept …]\n${tail}`,
    truncated: true,
  };
}

/** k6's last progress line (`running (0m12.0s), 10/10 VUs, …` or a bar), else its last line. */
function lastProgressLine(output: string): string {
  const running = findLastLine(output, (l) => /^running \(|\[\s*\d+%\s*\]/.test(l.trim()));
  return (running ?? lastLine(output)).trim().slice(0, 300);
}

/** One stateful run at a time per canary and phase; its identity (checksum, script) varies. */
function statefulSlot(req: Pick<LaunchRequest, 'namespace' | 'name' | 'phase'>): string {
  return JSON.stringify([req.namespace, req.name, req.phase]);
}

/** The launch service's side of stateful hooks: answers from the run's state, and the first
 * call's answer. */
export function createStatefulHooks(runs: StatefulRuns) {
  return {
    /** A later call's answer (202 running, 200 passed, TestFailed), or undefined: start a run. */
    answerFromState(
      req: LaunchRequest,
      hook: string,
      runner: RunnerKind,
      log: (msg: string, fields: LogFields) => void,
    ): LaunchOutcome | undefined {
      const state = runs.lookup(statefulSlot(req), hook);
      if (state.kind === 'none') return undefined;
      log('stateful hook: answering from the run', {
        runId: state.kind === 'running' ? state.progress.runId : state.result.runId,
        state: state.kind === 'running' ? 'running' : state.result.verdict,
      });
      if (state.kind === 'running') return { ...state.progress, status: 202 };
      return answer(state.result, { runner });
    },

    /** The first call: 202 started — or the verdict, when the run attached to had one already
     * (a pod run another replica finished). */
    started(req: LaunchRequest, hook: string, handle: RunHandle, runner: RunnerKind) {
      runs.remember(statefulSlot(req), hook, req.namespace, handle);
      if (Bun.peek.status(handle.result) === 'fulfilled') {
        return answer(Bun.peek(handle.result) as RunResult, { runner });
      }
      return { runId: handle.runId, status: 202 as const, body: `started: run ${handle.runId}\n` };
    },
  };
}
