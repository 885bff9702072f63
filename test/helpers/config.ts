// A Config for tests, from flags and environment exactly as the daemon parses them.

import { parseArgs } from '../../src/config/parse.ts';
import type { Config } from '../../src/config/settings.ts';

export function configFrom(
  argv: string[] = [],
  env: Record<string, string | undefined> = {},
): Config {
  const parsed = parseArgs(argv, env);
  if (parsed.command !== 'serve') throw new Error(`expected serve, got ${parsed.command}`);
  return parsed.config;
}
