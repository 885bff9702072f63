// What the SQL stores (SQLite, PostgreSQL) share: the first schema, written once for both
// dialects, and how a row of runs becomes a RunRecord.

import type { RunRecord } from './store.ts';

/** Version 1 of the schema; `prefix` names the tables (PostgreSQL shares a database). */
export function schemaV1(d: { prefix: string; bigint: string; boolean: string }): string {
  const t = (name: string) => `${d.prefix}${name}`;
  return `CREATE TABLE ${t('runs')} (
     run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL, phase TEXT NOT NULL,
     checksum TEXT NOT NULL, hook TEXT NOT NULL, runner TEXT NOT NULL,
     started_at ${d.bigint} NOT NULL, heartbeat_at ${d.bigint} NOT NULL, ended_at ${d.bigint},
     verdict TEXT, reason TEXT, exit_code INTEGER);
   CREATE INDEX ${t('runs_by_revision')} ON ${t('runs')} (namespace, name, checksum, started_at);
   CREATE TABLE ${t('gates')} (
     namespace TEXT NOT NULL, name TEXT NOT NULL, gate TEXT NOT NULL,
     open ${d.boolean} NOT NULL, checksum TEXT, PRIMARY KEY (namespace, name, gate));
   CREATE TABLE ${t('revisions')} (
     namespace TEXT NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL,
     PRIMARY KEY (namespace, name));
   CREATE TABLE ${t('failures')} (hook TEXT PRIMARY KEY, at ${d.bigint} NOT NULL);`;
}

/** A row of the runs table (PostgreSQL's BIGINTs may come back as strings). */
export interface RunRow {
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

export const fromRow = (r: RunRow): RunRecord => ({
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
