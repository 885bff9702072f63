// The PostgreSQL store (`--store postgres://…`, Bun.SQL): run records and gates shared by every
// replica that points at the same database, so a gate, a recorded verdict or a run under way is
// seen by whichever replica Flagger's call lands on. Versioned migrations run at open, under an
// advisory lock (replicas starting together migrate once). Unlike SQLite, no run is marked lost
// at open: another replica may own it.

import { SQL } from 'bun';
import type { GateState, ManualGate, RunRecord, Store } from './store.ts';
import { MAX_RUN_RECORDS } from './store.ts';

/** Schema versions, applied in order; `k6gate_schema` holds how many ran. */
const MIGRATIONS = [
  `CREATE TABLE k6gate_runs (
     run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, phase TEXT NOT NULL,
     checksum TEXT NOT NULL, hook TEXT NOT NULL, runner TEXT NOT NULL,
     started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL, ended_at BIGINT, verdict TEXT,
     reason TEXT, exit_code INTEGER);
   CREATE INDEX k6gate_runs_by_revision ON k6gate_runs (namespace, name, checksum, started_at);
   CREATE TABLE k6gate_gates (
     namespace TEXT NOT NULL, name TEXT NOT NULL, gate TEXT NOT NULL,
     open BOOLEAN NOT NULL, checksum TEXT, PRIMARY KEY (namespace, name, gate));
   CREATE TABLE k6gate_revisions (
     namespace TEXT NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL,
     PRIMARY KEY (namespace, name));`,
];

/** An arbitrary constant: the advisory lock every k6gate takes to migrate. */
const MIGRATION_LOCK = 6_411_027;

interface RunRow {
  run_id: string;
  namespace: string;
  name: string;
  phase: string;
  checksum: string;
  hook: string;
  runner: string;
  started_at: string | number;
  heartbeat_at: string | number;
  ended_at: string | number | null;
  verdict: string | null;
  reason: string | null;
  exit_code: number | null;
}

const fromRow = (r: RunRow): RunRecord => ({
  runId: r.run_id,
  namespace: r.namespace,
  name: r.name,
  phase: r.phase,
  checksum: r.checksum,
  hook: r.hook,
  runner: r.runner,
  startedAt: Number(r.started_at),
  heartbeatAt: Number(r.heartbeat_at),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
  verdict: r.verdict as RunRecord['verdict'],
  reason: r.reason,
  exitCode: r.exit_code,
});

async function migrate(sql: SQL): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS k6gate_schema (version INTEGER NOT NULL)`;
    const rows = (await tx`SELECT version FROM k6gate_schema`) as { version: number }[];
    if (rows.length === 0) await tx`INSERT INTO k6gate_schema VALUES (0)`;
    const version = rows[0]?.version ?? 0;
    for (let v = version; v < MIGRATIONS.length; v++) {
      await tx.unsafe(MIGRATIONS[v]!);
      await tx`UPDATE k6gate_schema SET version = ${v + 1}`;
    }
  });
}

/** Connects, migrates, and answers as a Store; throws when the database cannot be reached. */
export async function openPostgresStore(url: string): Promise<Store> {
  const sql = new SQL(url, { max: 4, idleTimeout: 30, connectionTimeout: 10 });
  await migrate(sql);
  return {
    async recordStart(r) {
      await sql`INSERT INTO k6gate_runs VALUES (${r.runId}, ${r.namespace}, ${r.name}, ${r.phase},
          ${r.checksum}, ${r.hook}, ${r.runner}, ${r.startedAt}, ${r.heartbeatAt}, ${r.endedAt},
          ${r.verdict}, ${r.reason}, ${r.exitCode})
        ON CONFLICT (run_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, ended_at = NULL,
          verdict = NULL, reason = NULL, exit_code = NULL`;
      await sql`DELETE FROM k6gate_runs WHERE run_id IN (SELECT run_id FROM k6gate_runs
          ORDER BY started_at DESC OFFSET ${MAX_RUN_RECORDS})`;
    },
    async recordEnd(runId, e) {
      await sql`UPDATE k6gate_runs SET ended_at = ${e.endedAt}, verdict = ${e.verdict},
          reason = ${e.reason}, exit_code = ${e.exitCode} WHERE run_id = ${runId}`;
    },
    async heartbeat(runId, at) {
      await sql`UPDATE k6gate_runs SET heartbeat_at = ${at} WHERE run_id = ${runId}`;
    },
    async runsOf(namespace, name, checksum) {
      const rows = (await sql`SELECT * FROM k6gate_runs WHERE namespace = ${namespace}
          AND name = ${name} AND checksum = ${checksum}
          ORDER BY started_at DESC, run_id DESC`) as RunRow[];
      return rows.map(fromRow);
    },
    async setGate(namespace, name, gate: ManualGate, state: GateState) {
      await sql`INSERT INTO k6gate_gates VALUES (${namespace}, ${name}, ${gate}, ${state.open},
          ${state.checksum}) ON CONFLICT (namespace, name, gate)
          DO UPDATE SET open = EXCLUDED.open, checksum = EXCLUDED.checksum`;
    },
    async gate(namespace, name, gate) {
      const rows = (await sql`SELECT open, checksum FROM k6gate_gates WHERE namespace = ${namespace}
          AND name = ${name} AND gate = ${gate}`) as { open: boolean; checksum: string | null }[];
      const row = rows[0];
      return row ? { open: row.open, checksum: row.checksum } : undefined;
    },
    async noteRevision(namespace, name, checksum) {
      await sql`INSERT INTO k6gate_revisions VALUES (${namespace}, ${name}, ${checksum})
          ON CONFLICT (namespace, name) DO UPDATE SET checksum = EXCLUDED.checksum`;
    },
    async lastRevision(namespace, name) {
      const rows = (await sql`SELECT checksum FROM k6gate_revisions
          WHERE namespace = ${namespace} AND name = ${name}`) as { checksum: string }[];
      return rows[0]?.checksum;
    },
    async close() {
      await sql.close();
    },
  };
}
