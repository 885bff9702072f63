// The auth file: who may call /launch-test, for which namespaces, and under what policy. YAML:
//   clients: [{ name: team-a, token_sha256: "<hex>", namespaces: ["team-a"], policy: {…} }]
// (`token: "<secret>"` is accepted too; a hash keeps the file useless to whoever reads it, a
// local k6 script included). Validated with valibot. It is re-read when its modification time,
// size or inode changes (a mounted Secret is swapped in place), checked at most once a second.
// A bad or missing new version is logged and the last good one kept for a grace period
// (AUTH_FILE_GRACE_MS); past it every call is refused and readiness says why, so revoking
// access by breaking the file cannot silently keep old tokens alive. Tokens are compared in
// constant time and never logged.

import { readFileSync, statSync } from 'node:fs';
import * as v from 'valibot';
import { nearest } from '../core/did-you-mean.ts';
import type { Clock } from '../core/clock.ts';
import { compileGlobs, type GlobMatcher } from '../core/globs.ts';
import type { Logger } from '../core/log.ts';
import { ClientPolicySchema, clientLimits, type Limits } from './limits.ts';

export interface Client {
  name: string;
  /** True when this client may launch canaries of `namespace`. */
  mayUse: GlobMatcher;
  /** This client's own narrowing of the daemon's policy, when the file gives one. */
  limits?: Limits;
}

export interface ClientDirectory {
  /** The client whose name and token match, or undefined. */
  authenticate(name: string | undefined, token: string): Client | undefined;
  /** Why the directory refuses every call now (the file has been unusable past its grace). */
  problem(): string | undefined;
}

/** How long a broken or missing auth file keeps the last good version before every call fails. */
export const AUTH_FILE_GRACE_MS = 60_000;

const NAMESPACE_GLOB = /^[a-z0-9*?.-]+$/;
const AuthFileSchema = v.object({
  clients: v.pipe(
    v.array(
      v.strictObject({
        name: v.pipe(
          v.string(),
          v.regex(/^[A-Za-z0-9._-]{1,64}$/, 'a name of letters, digits, ".", "_" or "-"'),
        ),
        token: v.optional(v.pipe(v.string(), v.minLength(16, 'a token of at least 16 characters'))),
        token_sha256: v.optional(
          v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'the hex SHA-256 of the token')),
        ),
        namespaces: v.pipe(
          v.array(v.pipe(v.string(), v.regex(NAMESPACE_GLOB, 'a namespace glob'))),
          v.minLength(1),
        ),
        policy: v.optional(ClientPolicySchema),
      }),
    ),
    v.check(
      (cs) => cs.every((c) => (c.token === undefined) !== (c.token_sha256 === undefined)),
      'each client needs exactly one of token and token_sha256',
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
    // A misspelt key also leaves the right one missing: name the typo, the cause.
    const typo = parsed.issues.find(isUnknownKey);
    throw new Error(describeIssue(typo ?? parsed.issues[0]));
  }
  return parsed.output.clients.map((c) => ({
    client: {
      name: c.name,
      mayUse: compileGlobs(c.namespaces, false),
      ...(c.policy ? { limits: clientLimits(c.name, c.policy) } : {}),
    },
    token: c.token_sha256 ? Buffer.from(c.token_sha256, 'hex') : digest(c.token ?? ''),
  }));
}

const CLIENT_KEYS = ['name', 'token', 'token_sha256', 'namespaces', 'policy'];

// valibot's issue in the file's own words: a misspelt key gets its did-you-mean, a missing one
// is named, a wrong type says what was expected. Never a value (it may be a token).
const isUnknownKey = (issue: v.BaseIssue<unknown>) =>
  issue.type === 'strict_object' && issue.input !== undefined && issue.path !== undefined;

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? 'file';
  const key = issue.path?.at(-1)?.key;
  if (isUnknownKey(issue) && typeof key === 'string') {
    // A client's own keys are known here; a policy's are the policy schema's.
    if (issue.path!.length !== 3) return `${path}: unknown key`;
    const near = nearest(key, CLIENT_KEYS);
    return `${path}: unknown key${near ? `; did you mean "${near}"?` : ` (known: ${CLIENT_KEYS.join(', ')})`}`;
  }
  if (issue.input === undefined && typeof key === 'string') {
    return `${path}: missing (each client has name, token or token_sha256, and namespaces)`;
  }
  if (issue.type === 'array') return `${path}: expected a list, such as [team-a]`;
  if (issue.type === 'object' || issue.type === 'strict_object')
    return `${path}: expected a mapping`;
  return `${path}: ${issue.message}`;
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
  /** Since when the file has been unusable (undefined: it is fine). */
  let brokenSince: number | undefined;
  let closedLogged = false;
  deps.logger.info('auth file loaded', { path, clients: loaded.entries.length });
  const failedClosed = () =>
    brokenSince !== undefined && deps.clock.now() - brokenSince >= AUTH_FILE_GRACE_MS;

  function refresh() {
    const now = deps.clock.now();
    if (now - checkedAt < 1000) return;
    checkedAt = now;
    try {
      const current = stamp();
      if (current === loaded.stamp && brokenSince === undefined) return;
      loaded = { stamp: current, entries: parseAuthFile(readFileSync(path, 'utf8')) };
      brokenSince = undefined;
      closedLogged = false;
      deps.logger.info('auth file reloaded', { path, clients: loaded.entries.length });
    } catch (err) {
      // Logged when it breaks and when its grace ends, not at every check.
      const fields = { path, error: String((err as Error).message), graceMs: AUTH_FILE_GRACE_MS };
      if (brokenSince === undefined) {
        brokenSince = now;
        deps.logger.error(
          'auth file unusable; keeping the last good version for its grace',
          fields,
        );
      } else if (failedClosed() && !closedLogged) {
        closedLogged = true;
        deps.logger.error('auth file unusable past its grace: refusing every call', fields);
      }
    }
  }

  return {
    problem() {
      refresh();
      return failedClosed()
        ? `auth file ${path} unusable for over ${AUTH_FILE_GRACE_MS / 1000}s`
        : undefined;
    },
    authenticate(name, token) {
      refresh();
      if (failedClosed()) return undefined;
      const given = digest(token);
      let match: Client | undefined;
      // Every entry is compared (no early exit), so timing does not tell which names exist.
      for (const e of loaded.entries) {
        const same = crypto.timingSafeEqual(e.token, given);
        if (same && (name === undefined || name === e.client.name)) match ??= e.client;
      }
      return match;
    },
  };
}
