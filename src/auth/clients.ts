// The auth file: who may call /launch-test and for which namespaces. YAML of the form
//   clients: [{ name: team-a, token: "<secret>", namespaces: ["team-a", "team-b-*"] }]
// validated with valibot. It is re-read when its modification time or size changes (a mounted
// Secret is swapped in place), checked at most once a second; a bad new version is logged and
// the last good one kept. Tokens are compared in constant time and never logged.

import { readFileSync, statSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import * as v from 'valibot';
import type { Clock } from '../core/clock.ts';
import { compileGlobs, type GlobMatcher } from '../core/globs.ts';
import type { Logger } from '../core/log.ts';

export interface Client {
  name: string;
  /** True when this client may launch canaries of `namespace`. */
  mayUse: GlobMatcher;
}

export interface ClientDirectory {
  /** The client whose name and token match, or undefined. */
  authenticate(name: string | undefined, token: string): Client | undefined;
}

const NAMESPACE_GLOB = /^[a-z0-9*?.-]+$/;
const AuthFileSchema = v.object({
  clients: v.pipe(
    v.array(
      v.strictObject({
        name: v.pipe(
          v.string(),
          v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'a name of letters, digits, ".", "_" or "-"'),
        ),
        token: v.pipe(v.string(), v.minLength(16, 'a token of at least 16 characters')),
        namespaces: v.pipe(
          v.array(v.pipe(v.string(), v.regex(NAMESPACE_GLOB, 'a namespace glob'))),
          v.minLength(1),
        ),
      }),
    ),
    v.check(
      (cs) => new Set(cs.map((c) => c.name)).size === cs.length,
      'client names must be unique',
    ),
  ),
});

interface Entry {
  client: Client;
  token: Buffer;
}

const digest = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest();

/** Parses the file's text; throws an Error naming the first problem (never a token). */
export function parseAuthFile(text: string): Entry[] {
  const parsed = v.safeParse(AuthFileSchema, Bun.YAML.parse(text));
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new Error(`${v.getDotPath(issue) ?? 'file'}: ${issue.message}`);
  }
  return parsed.output.clients.map((c) => ({
    client: { name: c.name, mayUse: compileGlobs(c.namespaces, false) },
    token: digest(c.token),
  }));
}

/** Loads `path` now (throws when it is unusable) and re-reads it when it changes. */
export function loadClientDirectory(
  path: string,
  deps: { clock: Clock; logger: Logger },
): ClientDirectory {
  const stamp = () => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  };
  let loaded = { stamp: stamp(), entries: parseAuthFile(readFileSync(path, 'utf8')) };
  let checkedAt = deps.clock.now();
  deps.logger.info('auth file loaded', { path, clients: loaded.entries.length });

  function refresh() {
    const now = deps.clock.now();
    if (now - checkedAt < 1000) return;
    checkedAt = now;
    try {
      const current = stamp();
      if (current === loaded.stamp) return;
      loaded = { stamp: current, entries: parseAuthFile(readFileSync(path, 'utf8')) };
      deps.logger.info('auth file reloaded', { path, clients: loaded.entries.length });
    } catch (err) {
      deps.logger.error('auth file unusable; keeping the last good version', {
        path,
        error: String((err as Error).message),
      });
    }
  }

  return {
    authenticate(name, token) {
      refresh();
      const given = digest(token);
      let match: Client | undefined;
      // Every entry is compared (no early exit), so timing does not tell which names exist.
      for (const e of loaded.entries) {
        const same = timingSafeEqual(e.token, given);
        if (same && (name === undefined || name === e.client.name)) match ??= e.client;
      }
      return match;
    },
  };
}
