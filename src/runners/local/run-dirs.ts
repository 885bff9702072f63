// The sweep of the local runs' private directories a dead k6gate left. Each
// directory is named after the process that made it (k6gate-run-<pid>.<start>-…, os/process-
// tag.ts) and removed when its run ends; a daemon that was killed (out of memory, SIGKILL)
// leaves its runs' directories, scripts inside, on a volume that may outlive it: a pod's
// emptyDir survives a container restart, where the new daemon is PID 1 again. At start, a
// directory whose maker no longer runs is removed; one of a live process (this one, another
// daemon, a `k6gate run`) is left alone. Makers are looked up in this process's pid namespace:
// daemons that share a temp dir must share that too (two containers of one pod sharing /tmp
// without shareProcessNamespace would take each other's runs for stale; give each its own).

import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log.ts';
import { isStaleRunName } from '../../os/process-tag.ts';

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
    if (isStaleRunName(name) && removeOwnDir(join(tempDir, name), logger)) removed++;
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
