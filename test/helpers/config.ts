// A Config for tests, from flags and environment exactly as the daemon parses them.

import { type Config, parseArgs } from '../../src/config.ts';

export function configFrom(
  argv: string[] = [],
  env: Record<string, string | undefined> = {},
): Config {
  const parsed = parseArgs(argv, env);
  if (parsed.command !== 'serve') throw new Error(`expected serve, got ${parsed.command}`);
  return parsed.config;
}
