// The SQLite store (`--store sqlite:<path>`, bun:sqlite): run records and gates in one file, so
// a restarted daemon still answers the gates and the verdicts it recorded. Versioned migrations
// run at open (PRAGMA user_version); WAL journal. One process owns the file (the chart refuses
// several replicas on SQLite): runs left without a verdict by a process that died are marked
// `lost` at open.

import { Database } from 'bun:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  fromEventRow,
  fromRow,
  LIST_COLUMNS,
  RUN_COLUMNS,
  runValuesOf,
  schemaV1,
  schemaV2,
  SQLITE_PARAM,
  toRowValues,
  whereOf,
  type RunRow,
} from './sql-schema.ts';
import {
  MAX_EVENTS,
  MAX_RUN_RECORDS,
  type GateState,
  type ManualGate,
  type Store,
  type TimelineEvent,
} from './store.ts';

/** Schema versions, applied in order; each runs once (user_version counts them). */
const MIGRATIONS = [
  schemaV1({ prefix: '', bigint: 'INTEGER', boolean: 'INTEGER' }),
  schemaV2({ prefix: '', bigint: 'INTEGER' }),
];

function migrate(db: Database): void {
  const { user_version: version } = db.query('PRAGMA user_version').get() as {
    user_version: number;
  };
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.run(MIGRATIONS[v]!);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}

/** Opens (creating it and its directory if needed) and migrates the database at `path`. */
export function openSqliteStore(path: string, now: () => number): Store {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  db.run('PRAGMA journal_mode = WAL');
  db.run('PRAGMA busy_timeout = 5000');
  migrate(db);
  db.query(
    "UPDATE runs SET verdict = 'lost', ended_at = $now, reason = 'k6gate stopped before the verdict' WHERE verdict IS NULL",
  ).run({ now: now() });
  const insertRun = db.query(
    `INSERT OR REPLACE INTO runs (${RUN_COLUMNS}) VALUES (${runValuesOf(SQLITE_PARAM)})`,
  );
  const prune = db.query(
    `DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs ORDER BY started_at DESC
       LIMIT -1 OFFSET ${MAX_RUN_RECORDS})`,
  );
  const endRun = db.query(
    `UPDATE runs SET ended_at = $endedAt, verdict = $verdict, reason = $reason,
       exit_code = $exitCode, summary = coalesce($summary, summary),
       output_tail = coalesce($outputTail, output_tail) WHERE run_id = $runId`,
  );
  const getRun = db.query('SELECT * FROM runs WHERE run_id = $runId');
  const candidates = db.query(
    `SELECT * FROM runs WHERE namespace = $namespace AND name = $name AND script = $script
       AND checksum != $checksum AND verdict = 'passed' AND summary IS NOT NULL
       ORDER BY started_at DESC, run_id DESC LIMIT $limit`,
  );
  const insertEvent = db.query(
    `INSERT INTO events VALUES ($namespace, $name, $checksum, $phase, $type, $message, $at)`,
  );
  const pruneEvents = db.query(
    `DELETE FROM events WHERE rowid IN (SELECT rowid FROM events ORDER BY at DESC, rowid DESC
       LIMIT -1 OFFSET ${MAX_EVENTS})`,
  );
  const eventsOf = db.query(
    `SELECT * FROM events WHERE namespace = $namespace AND name = $name
       ORDER BY at DESC, rowid DESC LIMIT $limit`,
  );
  const recordFailure = db.query('INSERT OR REPLACE INTO failures VALUES ($hook, $at)');
  const failureAt = db.query('SELECT at FROM failures WHERE hook = $hook');
  const heartbeat = db.query('UPDATE runs SET heartbeat_at = $at WHERE run_id = $runId');
  const runsOf = db.query(
    `SELECT * FROM runs WHERE namespace = $namespace AND name = $name AND checksum = $checksum
       ORDER BY started_at DESC, rowid DESC`,
  );
  const setGate = db.query(
    'INSERT OR REPLACE INTO gates VALUES ($namespace, $name, $gate, $open, $checksum)',
  );
  const getGate = db.query(
    'SELECT open, checksum FROM gates WHERE namespace = $namespace AND name = $name AND gate = $gate',
  );
  const noteRevision = db.query(
    'INSERT OR REPLACE INTO revisions VALUES ($namespace, $name, $checksum)',
  );
  const lastRevision = db.query(
    'SELECT checksum FROM revisions WHERE namespace = $namespace AND name = $name',
  );
  return {
    persistent: true,
    async recordStart(run) {
      insertRun.run(...(toRowValues(run) as never[]));
      prune.run();
    },
    async recordEnd(runId, end) {
      const summary = end.summary ? JSON.stringify(end.summary) : null;
      endRun.run({ runId, ...end, summary, outputTail: end.outputTail ?? null });
    },
    async run(runId) {
      const row = getRun.get({ runId }) as RunRow | null;
      return row ? fromRow(row) : undefined;
    },
    async listRuns(q) {
      const where = whereOf(q, SQLITE_PARAM);
      const sql = `SELECT ${LIST_COLUMNS} FROM runs ${where.sql}
        ORDER BY started_at DESC, run_id DESC LIMIT ${Math.max(0, Math.floor(q.limit))}`;
      return (db.query(sql).all(...(where.params as never[])) as RunRow[]).map(fromRow);
    },
    async baselineCandidates(c, limit) {
      return (candidates.all({ ...c, limit }) as RunRow[]).map(fromRow);
    },
    async recordEvent(event) {
      insertEvent.run({ ...event });
      pruneEvents.run();
    },
    async eventsOf(namespace, name, limit) {
      return (eventsOf.all({ namespace, name, limit }) as TimelineEvent[]).map(fromEventRow);
    },
    async heartbeat(runId, at) {
      heartbeat.run({ runId, at });
    },
    async runsOf(namespace, name, checksum) {
      return (runsOf.all({ namespace, name, checksum }) as RunRow[]).map(fromRow);
    },
    async setGate(namespace, name, gate: ManualGate, state: GateState) {
      setGate.run({ namespace, name, gate, open: state.open ? 1 : 0, checksum: state.checksum });
    },
    async gate(namespace, name, gate) {
      const row = getGate.get({ namespace, name, gate }) as {
        open: number;
        checksum: string | null;
      } | null;
      return row ? { open: row.open === 1, checksum: row.checksum } : undefined;
    },
    async recordFailure(hook, at) {
      recordFailure.run({ hook, at });
    },
    async failureAt(hook) {
      const row = failureAt.get({ hook }) as { at: number } | null;
      return row?.at;
    },
    async noteRevision(namespace, name, checksum) {
      noteRevision.run({ namespace, name, checksum });
    },
    async lastRevision(namespace, name) {
      const row = lastRevision.get({ namespace, name }) as { checksum: string } | null;
      return row?.checksum;
    },
    async close() {
      db.close();
    },
  };
}
