// What the SQL stores (SQLite, PostgreSQL) share: the first schema, written once for both
// dialects, and how a row of runs becomes a RunRecord.

import type { RunQuery, RunRecord, RunSummary } from './store.ts';

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

/** Version 2: what the runs API, the page and the baselines read — the script's digest, the
 * summary (JSON), the output's end — and the rollout timeline from Flagger's event hook. */
export function schemaV2(d: { prefix: string; bigint: string }): string {
  const t = (name: string) => `${d.prefix}${name}`;
  return `ALTER TABLE ${t('runs')} ADD COLUMN script TEXT NOT NULL DEFAULT '';
   ALTER TABLE ${t('runs')} ADD COLUMN summary TEXT;
   ALTER TABLE ${t('runs')} ADD COLUMN output_tail TEXT;
   CREATE INDEX ${t('runs_by_start')} ON ${t('runs')} (started_at, run_id);
   CREATE INDEX ${t('runs_by_canary')} ON ${t('runs')} (namespace, name, started_at);
   CREATE INDEX ${t('runs_running')} ON ${t('runs')} (started_at, run_id) WHERE verdict IS NULL;
   CREATE TABLE ${t('events')} (
     namespace TEXT NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL, phase TEXT NOT NULL,
     type TEXT NOT NULL, message TEXT NOT NULL, at ${d.bigint} NOT NULL);
   CREATE INDEX ${t('events_by_canary')} ON ${t('events')} (namespace, name, at);`;
}

/** The columns a new run is inserted with, in order. */
export const RUN_COLUMNS = `run_id, namespace, name, phase, checksum, hook, runner, started_at,
  heartbeat_at, ended_at, verdict, reason, exit_code, script, summary, output_tail`;

/** A run record as the row values of RUN_COLUMNS. */
export const toRowValues = (r: RunRecord) => [
  r.runId,
  r.namespace,
  r.name,
  r.phase,
  r.checksum,
  r.hook,
  r.runner,
  r.startedAt,
  r.heartbeatAt,
  r.endedAt,
  r.verdict,
  r.reason,
  r.exitCode,
  r.script,
  r.summary === null ? null : JSON.stringify(r.summary),
  r.outputTail,
];

/** The columns a listing reads: all but the output's end (a page of runs needs no output). */
export const LIST_COLUMNS = RUN_COLUMNS.replace(', output_tail', ', NULL AS output_tail');

/** How a dialect writes the n-th positional parameter (from 1): SQLite `?n`, PostgreSQL `$n`. */
export type Placeholder = (n: number) => string;
export const SQLITE_PARAM: Placeholder = (n) => `?${n}`;
export const POSTGRES_PARAM: Placeholder = (n) => `$${n}`;

/** The VALUES list of a new run, one parameter per RUN_COLUMNS entry (toRowValues' order). */
export const runValuesOf = (mark: Placeholder) =>
  RUN_COLUMNS.split(',')
    .map((_, i) => mark(i + 1))
    .join(', ');

/** A run query as a WHERE clause with the dialect's positional parameters. */
export function whereOf(q: RunQuery, mark: Placeholder): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => (params.push(value), mark(params.length));
  if (q.namespace !== undefined) clauses.push(`namespace = ${p(q.namespace)}`);
  if (q.name !== undefined) clauses.push(`name = ${p(q.name)}`);
  if (q.state === 'running') clauses.push('verdict IS NULL');
  else if (q.state === 'ended') clauses.push('verdict IS NOT NULL');
  else if (q.state !== undefined && q.state !== null) clauses.push(`verdict = ${p(q.state)}`);
  if (q.before) {
    const at = p(q.before.startedAt);
    clauses.push(`(started_at < ${at} OR (started_at = ${at} AND run_id < ${p(q.before.runId)}))`);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
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
  script: string;
  summary: string | null;
  output_tail: string | null;
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
  script: r.script,
  summary: parseSummary(r.summary),
  outputTail: r.output_tail,
});

// A summary column written by this or a later version (unknown fields kept, unreadable: none).
function parseSummary(text: string | null): RunSummary | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as RunSummary;
    return typeof parsed === 'object' && parsed !== null ? parsed : null;
  } catch {
    return null;
  }
}

/** A timeline row (PostgreSQL's BIGINT may come back as a string). */
export const fromEventRow = <E extends { at: string | number }>(e: E) => ({
  ...e,
  at: Number(e.at),
});
