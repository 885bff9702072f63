// Process helpers shared by tests and benchmarks: zombie children and start times (from /proc),
// and a child's whole output with its exit code.

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

/** A process's start time (clock ticks since boot) in /proc/<pid>/stat, as this process reads
 * it: what a run name's tag must match for every other k6gate to see its maker alive. */
export function startTimeOf(pid: number): string | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
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
