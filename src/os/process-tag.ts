// Which process made a thing k6gate leaves on disk (a run directory, a run cgroup): its pid and
// start time, `<pid>.<start>` (field 22 of /proc/<pid>/stat, clock ticks since boot). A pid alone
// does not say: pids are reused, and a restarted container's daemon is PID 1 again. A thing whose
// tag names no running process is stale: its maker was killed before it could remove it.

import { readFileSync } from 'node:fs';

let own: string | undefined;

/** This process's tag; its pid alone where there is no /proc (nothing is then found stale). */
export function ownProcessTag(): string {
  own ??= processTag(process.pid) ?? String(process.pid);
  return own;
}

/** The tag at the start of `name` after `prefix` when it names a process that no longer runs. */
export function staleTag(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const m = /^(\d+)\.(\d+)-/.exec(name.slice(prefix.length));
  return m !== null && processTag(Number(m[1])) !== `${m[1]}.${m[2]}`;
}

// `<pid>.<start time>` of a running process, or undefined when there is none (or no /proc).
function processTag(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : `${pid}.${start}`;
  } catch {
    return undefined;
  }
}
