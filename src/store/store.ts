// The store seam: what k6gate remembers beyond one request — run records (who ran what for
// which revision, and its verdict) and the manual gates — in memory (the default), or in
// SQLite to outlive a restart. One interface, async so a networked store can stand behind it.

import type { Verdict } from '../k6/exit-codes.ts';

/** One run of a canary's hook, as the gates and the stateful answers read it. */
export interface RunRecord {
  runId: string;
  namespace: string;
  name: string;
  phase: string;
  /** Flagger's revision identity. */
  checksum: string;
  /** The hook's identity (canary, phase, checksum, script digest): failure cache and attach key. */
  hook: string;
  runner: string;
  startedAt: number;
  /** The owner's last sign of life while the run goes on (its lease); see LEASE_MS. */
  heartbeatAt: number;
  endedAt: number | null;
  /** null while running; `lost` when the process that ran it died before its verdict. */
  verdict: Verdict | 'lost' | null;
  reason: string | null;
  exitCode: number | null;
}

/** Flagger's loadtester gates: `confirm` (gate/open, gate/check) and `rollback`. */
export type ManualGate = 'confirm' | 'rollback';

export interface GateState {
  open: boolean;
  /** The revision the gate was opened or closed for; null: the next revision that asks. */
  checksum: string | null;
}

export interface Store {
  /** Whether what is stored outlives this process (a file, a database). The in-memory store's
   * records are the process's own state again: nothing needs learning back or a lease. */
  readonly persistent: boolean;
  recordStart(run: RunRecord): Promise<void>;
  recordEnd(
    runId: string,
    end: {
      endedAt: number;
      verdict: RunRecord['verdict'];
      reason: string;
      exitCode: number | null;
    },
  ): Promise<void>;
  /** The owner renews its lease on a run under way. */
  heartbeat(runId: string, at: number): Promise<void>;
  /** A canary's runs for one revision, newest first. */
  runsOf(namespace: string, name: string, checksum: string): Promise<RunRecord[]>;
  setGate(namespace: string, name: string, gate: ManualGate, state: GateState): Promise<void>;
  gate(namespace: string, name: string, gate: ManualGate): Promise<GateState | undefined>;
  /** The failure cache's write-through: when a hook last failed. */
  recordFailure(hook: string, at: number): Promise<void>;
  failureAt(hook: string): Promise<number | undefined>;
  /** The newest revision Flagger sent for a canary (a gate opened by hand binds to it). */
  noteRevision(namespace: string, name: string, checksum: string): Promise<void>;
  lastRevision(namespace: string, name: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A run under way whose owner gave no sign of life this long is taken as lost (its replica
 * died): another replica starts the hook anew. Owners renew every LEASE_RENEW_MS. */
export const LEASE_MS = 30_000;
export const LEASE_RENEW_MS = 10_000;

/** Runs kept per store; the oldest ended ones go first. */
export const MAX_RUN_RECORDS = 10_000;
