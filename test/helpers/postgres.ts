// A real PostgreSQL for the store tests: Debian's server binaries (scripts/tools postgres),
// started once per test process on 127.0.0.1 and a free port, as the non-root `postgres` user
// (setpriv; never as root), in a temp directory removed at exit. Each test gets a database of
// its own. Without the package the tests say SKIP; with CI=true they fail instead.

import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQL } from 'bun';
import { REPO } from './daemon.ts';
import { freePort } from './ports.ts';

export interface Postgres {
  /** A fresh database's URL. */
  database(prefix: string): Promise<string>;
}

function pgBin(): string | undefined {
  const out = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'postgres'], {
    env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
    stderr: 'pipe',
  });
  return out.exitCode === 0 ? out.stdout.toString().trim() : undefined;
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  const uid = Bun.spawnSync(['id', '-u', user]);
  const gid = Bun.spawnSync(['id', '-g', user]);
  if (uid.exitCode !== 0) return undefined;
  return { uid: Number(uid.stdout.toString()), gid: Number(gid.stdout.toString()) };
}

const asPostgres = ['setpriv', '--reuid=postgres', '--regid=postgres', '--clear-groups', '--'];

async function start(bin: string, ids: { uid: number; gid: number }): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'k6gate-pg-'));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const init = Bun.spawnSync(
    [...asPostgres, join(bin, 'initdb'), '-D', data, '-U', 'k6gate', '--auth=trust', '-E', 'UTF8'],
    { stderr: 'pipe', stdout: 'pipe' },
  );
  if (init.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true }); // a failed start leaves nothing in /tmp
    throw new Error(`initdb failed: ${init.stderr.toString()}`);
  }
  const port = freePort();
  const server = Bun.spawn(
    [
      ...asPostgres,
      join(bin, 'postgres'),
      '-D',
      data,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      dir,
    ],
    { stdout: 'ignore', stderr: 'ignore' },
  );
  stop = async () => {
    server.kill('SIGQUIT'); // immediate shutdown: the workers go with the postmaster
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const admin = `postgres://k6gate@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    try {
      const sql = new SQL(admin);
      await sql`SELECT 1`;
      await sql.close();
      break;
    } catch (err) {
      if (i > 100)
        throw new Error(`postgres did not start: ${(err as Error).message}`, { cause: err });
      await Bun.sleep(100);
    }
  }
  let n = 0;
  return {
    async database(prefix) {
      const name = `${prefix}_${process.pid}_${++n}`.replace(/[^a-z0-9_]/g, '_');
      const sql = new SQL(admin);
      await sql.unsafe(`CREATE DATABASE ${name}`);
      await sql.close();
      return `postgres://k6gate@127.0.0.1:${port}/${name}`;
    },
  };
}

let shared: Promise<Postgres> | undefined;
let stop: (() => Promise<void>) | undefined;

/** Stops the run's PostgreSQL, if one was started (the test preload calls it at the end). */
export async function stopPostgres(): Promise<void> {
  await stop?.();
  stop = undefined;
  shared = undefined;
}

/** The run's PostgreSQL, or why there is none (SKIP; CI=true fails the test instead). */
export function getPostgres(): { postgres?: () => Promise<Postgres>; why?: string } {
  const bin = pgBin();
  const ids = idOf('postgres');
  if (!bin || !ids) {
    const why = 'PostgreSQL not installed (bash scripts/tools postgres)';
    if (process.env.CI === 'true') throw new Error(why);
    return { why };
  }
  return { postgres: () => (shared ??= start(bin, ids)) };
}
