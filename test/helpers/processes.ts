// Process checks shared by tests and benchmarks: zombie children, from /proc.

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
