// Which process made a thing k6gate leaves on disk (a run directory, a run cgroup): names start
// `k6gate-run-<pid>.<start>-`, the maker's pid and start time (os/linux.ts readStat). A pid
// alone does not say: pids are reused, and a restarted container's daemon is PID 1 again. A
// name whose tag names no running process is stale: its maker was killed before it could
// remove it.

import { readStat } from './linux.ts';

const PREFIX = 'k6gate-run-';
const TAGGED = /^k6gate-run-(\d+)\.(\d+)-/;

let own: string | undefined;

/** The start of the names this process gives its run directories and cgroups; its pid alone
 * where there is no /proc (nothing is then found stale). */
export function runNamePrefix(): string {
  own ??= processTag(process.pid) ?? String(process.pid);
  return `${PREFIX}${own}-`;
}

/** True when `name` is a run's, made by a process that no longer runs. */
export function isStaleRunName(name: string): boolean {
  const m = TAGGED.exec(name);
  return m !== null && processTag(Number(m[1])) !== `${m[1]}.${m[2]}`;
}

// `<pid>.<start time>` of a running process, or undefined when there is none.
function processTag(pid: number): string | undefined {
  const start = readStat(pid)?.start;
  return start === undefined ? undefined : `${pid}.${start}`;
}
