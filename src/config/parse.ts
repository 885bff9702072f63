// Reads argv and the environment into a Config through the settings table: flags win over
// environment variables, which win over defaults; an empty variable counts as unset. A value the
// table refuses is a UsageError (exit 2) naming the flag, the variable, where the value came
// from and what was expected; a secret is never printed back.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { UsageError } from '../core/errors.ts';
import { CONFIG_SCHEMA, SETTINGS, type Config } from './settings.ts';

export type ParsedArgs = { command: 'help' | 'version' } | { command: 'serve'; config: Config };

const COMMANDS = new Set(['serve']);

/** Reads argv (after the program name) and the environment into a Config, or throws UsageError. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedArgs {
  const flags = new Map<keyof Config, string>();
  const byFlag = new Map(SETTINGS.map((s) => [s.flag, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h' || arg === 'help') return { command: 'help' };
    if (arg === '--version' || arg === '-v' || arg === 'version') return { command: 'version' };
    if (!arg.startsWith('-')) {
      if (i === 0 && COMMANDS.has(arg)) continue;
      throw new UsageError(`unknown command or argument "${arg}" (see k6gate --help)`);
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const row = byFlag.get(flag);
    if (!row) throw new UsageError(`unknown flag ${flag} (see k6gate --help)`);
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`flag ${flag} needs a value`);
    flags.set(row.key, value);
  }
  return { command: 'serve', config: resolveConfig(flags, env) };
}

// systemd's LoadCredential= puts each credential in $CREDENTIALS_DIRECTORY, readable by the
// service alone: a file setting defaults to its credential when that exists.
function credentialFile(
  name: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!name || !dir) return undefined;
  const path = join(dir, name);
  return existsSync(path) ? path : undefined;
}

function resolveConfig(
  flags: Map<keyof Config, string>,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const raw: Record<string, string> = {};
  const source: Record<string, string> = {};
  for (const s of SETTINGS) {
    const fromEnv = env[s.env] === '' ? undefined : env[s.env];
    const fromFlag = flags.get(s.key);
    const fromCredential = credentialFile(s.credential, env);
    raw[s.key] =
      fromFlag ??
      fromEnv ??
      fromCredential ??
      (typeof s.fallback === 'function' ? s.fallback() : s.fallback);
    source[s.key] =
      fromFlag !== undefined
        ? s.flag
        : fromEnv !== undefined
          ? s.env
          : fromCredential !== undefined
            ? `systemd credential ${s.credential}`
            : 'default';
  }
  const parsed = v.safeParse(CONFIG_SCHEMA, raw);
  if (parsed.success) return parsed.output;
  const step = parsed.issues[0].path?.[0];
  const key = typeof step?.key === 'string' ? step.key : '';
  const s = SETTINGS.find((row) => row.key === key);
  if (!s) throw new UsageError(parsed.issues[0].message);
  const shown = s.secret ? '(hidden)' : JSON.stringify(raw[key]);
  throw new UsageError(
    `invalid value for ${s.flag} / ${s.env} (from ${source[key]}): ${shown}; expected ${s.expected}`,
  );
}
