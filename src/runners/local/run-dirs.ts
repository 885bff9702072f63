// The names of local runs' private directories, and the sweep of those a dead k6gate left. Each
// directory is named after the process that made it, by pid and start time (k6gate-run-<pid>.
// <start>-…), and removed when its run ends; a daemon that was killed (out of memory, SIGKILL)
// leaves its runs' directories, scripts inside, on a volume that may outlive it: a pod's
// emptyDir survives a container restart, where the new daemon is PID 1 again. At start, a
// directory whose maker is no longer running (no such pid, or a pid now another process's) is
// removed; one of a live process (this one, another daemon, a `k6gate run`) is left alone.

import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log.ts';

const PREFIX = 'k6gate-run-';
const TAGGED = /^k6gate-run-(\d+)\.(\d+)-/;

let ownTag: string | undefined;

/** The prefix of this process's run directories (mkdtemp adds the random rest). */
export function runDirPrefix(): string {
  ownTag ??= tagOf(process.pid) ?? String(process.pid);
  return `${PREFIX}${ownTag}-`;
}

/** Removes the run directories in `tempDir` whose maker is gone; returns how many. Only this
 * user's directories are touched (a shared /tmp holds other users' entries). */
export function sweepStaleRunDirs(tempDir: string, logger: Logger): number {
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return 0; // readiness reports a temp dir that cannot be used
  }
  let removed = 0;
  for (const name of names) {
    const m = TAGGED.exec(name);
    if (!m || tagOf(Number(m[1])) === `${m[1]}.${m[2]}`) continue;
    if (removeOwnDir(join(tempDir, name), logger)) removed++;
  }
  if (removed > 0)
    logger.warn('removed run directories a k6gate that is no longer running left behind', {
      removed,
      tempDir,
    });
  return removed;
}

function removeOwnDir(path: string, logger: Logger): boolean {
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.()) return false;
    rmSync(path, { recursive: true, force: true });
    return true;
  } catch (err) {
    logger.warn('cannot remove a stale run directory', { path, err });
    return false;
  }
}

// `<pid>.<start time>` of a running process (field 22 of /proc/<pid>/stat, in clock ticks since
// boot), or undefined when there is no such process (or no /proc).
function tagOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : `${pid}.${start}`;
  } catch {
    return undefined;
  }
}
