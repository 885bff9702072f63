// What the benches share: the Go original built from its Go module, a free loopback port, and a
// process's resident memory.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dir, '..');

/** Builds (or finds in the cache) the Go original; its binary's path. */
export function buildOriginal(): string {
  const out = Bun.spawnSync(['bash', join(REPO, 'bench/build-original.sh')], {
    stderr: 'inherit',
  });
  if (out.exitCode !== 0) throw new Error('building the Go original failed');
  return out.stdout.toString().trim();
}

export async function freePort(): Promise<number> {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = server.port as number;
  await server.stop(true);
  return port;
}

export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}
