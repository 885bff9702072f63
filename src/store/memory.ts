// The in-memory store (the default): nothing written to disk, gone with the process. Run
// records are bounded (MAX_RUN_RECORDS, oldest first); output tails are kept for the newest
// MEMORY_TAILS runs only (4 KiB each would make 10,000 runs cost ~40 MiB of heap).

import {
  matchesQuery,
  MAX_EVENTS,
  MAX_RUN_RECORDS,
  newestFirst,
  type GateState,
  type TimelineEvent,
  type ManualGate,
  type RunRecord,
  type Store,
} from './store.ts';

const key = (...parts: string[]) => JSON.stringify(parts);

/** Runs whose output tail the in-memory store keeps (older ones: null). */
const MEMORY_TAILS = 1000;

export function createMemoryStore(): Store {
  const runs = new Map<string, RunRecord>();
  const gates = new Map<string, GateState>();
  const revisions = new Map<string, string>();
  const failures = new Map<string, number>();
  const events: TimelineEvent[] = [];
  const tails: string[] = []; // run ids holding a tail, oldest first
  const newest = (pick: (r: RunRecord) => boolean, limit: number) =>
    [...runs.values()]
      .filter(pick)
      .sort(newestFirst)
      .slice(0, limit)
      .map((r) => ({ ...r }));
  return {
    persistent: false,
    async recordStart(run) {
      runs.set(run.runId, { ...run });
      if (runs.size > MAX_RUN_RECORDS) runs.delete(runs.keys().next().value as string);
    },
    async recordEnd(runId, end) {
      const run = runs.get(runId);
      if (!run) return;
      Object.assign(run, end);
      if (!end.outputTail) return;
      tails.push(runId);
      const dropped = tails.length > MEMORY_TAILS ? runs.get(tails.shift() as string) : undefined;
      if (dropped) dropped.outputTail = null;
    },
    async heartbeat(runId, at) {
      const run = runs.get(runId);
      if (run) run.heartbeatAt = at;
    },
    async runsOf(namespace, name, checksum) {
      return [...runs.values()]
        .filter((r) => r.namespace === namespace && r.name === name && r.checksum === checksum)
        .map((r) => ({ ...r }))
        .reverse();
    },
    async run(runId) {
      const r = runs.get(runId);
      return r && { ...r };
    },
    async listRuns(q) {
      return newest((r) => matchesQuery(r, q), q.limit).map((r) => ({ ...r, outputTail: null }));
    },
    async baselineCandidates(c, limit) {
      const fits = (r: RunRecord) =>
        r.namespace === c.namespace &&
        r.name === c.name &&
        r.script === c.script &&
        r.checksum !== c.checksum &&
        r.verdict === 'passed' &&
        r.summary !== null;
      return newest(fits, limit);
    },
    async recordEvent(event) {
      events.push({ ...event });
      if (events.length > MAX_EVENTS) events.shift();
    },
    async eventsOf(namespace, name, limit) {
      const own = events.filter((e) => e.namespace === namespace && e.name === name);
      return own.slice(-limit).reverse();
    },
    async setGate(namespace, name, gate: ManualGate, state) {
      gates.set(key(namespace, name, gate), { ...state });
    },
    async gate(namespace, name, gate) {
      const state = gates.get(key(namespace, name, gate));
      return state && { ...state };
    },
    async recordFailure(hook, at) {
      failures.delete(hook);
      failures.set(hook, at);
      if (failures.size > MAX_RUN_RECORDS) failures.delete(failures.keys().next().value as string);
    },
    async failureAt(hook) {
      return failures.get(hook);
    },
    async noteRevision(namespace, name, checksum) {
      revisions.set(key(namespace, name), checksum);
    },
    async lastRevision(namespace, name) {
      return revisions.get(key(namespace, name));
    },
    async close() {},
  };
}
