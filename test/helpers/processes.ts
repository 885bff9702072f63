// Process helpers shared by tests and benchmarks: zombie children (from /proc), and a child's
// whole output with its exit code.

import { readdirSync, readFileSync } from 'node:fs';

/** Child processes of `pid` that are zombies (state Z). */
export function zombieChildren(pid = process.pid): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === pid) zombies.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return zombies;
}

/** A script for the k6 contract double: its directive line and an empty default function. */
export const doubleScript = (directives: string) =>
  `// k6-double: ${directives}\nexport default function () {}\n`;

/** Everything a piped child printed, its exit code, and its last stdout line. */
export async function collect(proc: Bun.Subprocess<'ignore' | Blob, 'pipe', 'pipe'>) {
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr, last: stdout.trimEnd().split('\n').at(-1) };
}
