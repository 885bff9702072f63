// The PostgreSQL store (`--store postgres://…`, Bun.SQL): run records and gates shared by every
// replica that points at the same database, so a gate, a recorded verdict or a run under way is
// seen by whichever replica Flagger's call lands on. Versioned migrations run at open, under an
// advisory lock (replicas starting together migrate once). Unlike SQLite, no run is marked lost
// at open: another replica may own it.

import { SQL } from 'bun';
import {
  fromEventRow,
  fromRow,
  LIST_COLUMNS,
  POSTGRES_PARAM,
  RUN_COLUMNS,
  runValuesOf,
  schemaV1,
  schemaV2,
  toRowValues,
  whereOf,
  type RunRow,
} from './sql-schema.ts';
import type { GateState, ManualGate, Store, TimelineEvent } from './store.ts';
import { MAX_EVENTS, MAX_RUN_RECORDS } from './store.ts';

/** Schema versions, applied in order; `k6gate_schema` holds how many ran. */
const MIGRATIONS = [
  schemaV1({ prefix: 'k6gate_', bigint: 'BIGINT', boolean: 'BOOLEAN' }),
  schemaV2({ prefix: 'k6gate_', bigint: 'BIGINT' }),
];
const INSERT_RUN = `INSERT INTO k6gate_runs (${RUN_COLUMNS}) VALUES (${runValuesOf(POSTGRES_PARAM)})
  ON CONFLICT (run_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, ended_at = NULL,
    verdict = NULL, reason = NULL, exit_code = NULL, summary = NULL, output_tail = NULL`;

/** An arbitrary constant: the advisory lock every k6gate takes to migrate. */
const MIGRATION_LOCK = 6_411_027;

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
    persistent: true,
    async recordStart(r) {
      await sql.unsafe(INSERT_RUN, toRowValues(r));
      await sql`DELETE FROM k6gate_runs WHERE run_id IN (SELECT run_id FROM k6gate_runs
          ORDER BY started_at DESC OFFSET ${MAX_RUN_RECORDS})`;
    },
    async recordEnd(runId, e) {
      const summary = e.summary ? JSON.stringify(e.summary) : null;
      await sql`UPDATE k6gate_runs SET ended_at = ${e.endedAt}, verdict = ${e.verdict},
          reason = ${e.reason}, exit_code = ${e.exitCode},
          summary = coalesce(${summary}, summary),
          output_tail = coalesce(${e.outputTail ?? null}, output_tail) WHERE run_id = ${runId}`;
    },
    async run(runId) {
      const rows = (await sql`SELECT * FROM k6gate_runs WHERE run_id = ${runId}`) as RunRow[];
      return rows[0] ? fromRow(rows[0]) : undefined;
    },
    async listRuns(q) {
      const where = whereOf(q, POSTGRES_PARAM);
      const limit = Math.max(0, Math.floor(q.limit));
      const rows = (await sql.unsafe(
        `SELECT ${LIST_COLUMNS} FROM k6gate_runs ${where.sql} ORDER BY started_at DESC, run_id DESC LIMIT ${limit}`,
        where.params,
      )) as RunRow[];
      return rows.map(fromRow);
    },
    async baselineCandidates(c, limit) {
      const rows = (await sql`SELECT * FROM k6gate_runs WHERE namespace = ${c.namespace}
          AND name = ${c.name} AND script = ${c.script} AND checksum != ${c.checksum}
          AND verdict = 'passed' AND summary IS NOT NULL
          ORDER BY started_at DESC, run_id DESC LIMIT ${limit}`) as RunRow[];
      return rows.map(fromRow);
    },
    async recordEvent(e) {
      await sql`INSERT INTO k6gate_events VALUES (${e.namespace}, ${e.name}, ${e.checksum},
          ${e.phase}, ${e.type}, ${e.message}, ${e.at})`;
      await sql`DELETE FROM k6gate_events WHERE ctid IN (SELECT ctid FROM k6gate_events
          ORDER BY at DESC OFFSET ${MAX_EVENTS})`;
    },
    async eventsOf(namespace, name, limit) {
      const rows = (await sql`SELECT * FROM k6gate_events WHERE namespace = ${namespace}
          AND name = ${name} ORDER BY at DESC LIMIT ${limit}`) as (TimelineEvent & {
        at: string | number;
      })[];
      return rows.map(fromEventRow);
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
    async recordFailure(hook, at) {
      await sql`INSERT INTO k6gate_failures VALUES (${hook}, ${at})
          ON CONFLICT (hook) DO UPDATE SET at = EXCLUDED.at`;
    },
    async failureAt(hook) {
      const rows = (await sql`SELECT at FROM k6gate_failures WHERE hook = ${hook}`) as {
        at: string | number;
      }[];
      return rows[0] ? Number(rows[0].at) : undefined;
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
