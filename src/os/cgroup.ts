// Per-run cgroups (cgroup v2). Each local run's k6 is spawned into a cgroup of its own (or moved
// in right after its spawn where clone3 cannot start it there), made under
// a directory the daemon may write: its own cgroup when that is delegated to it (systemd's
// `Delegate=yes`), or one the operator names. Whatever the run forks, however it leaves its
// process group, it stays in that cgroup, and one write to `cgroup.kill` ends all of it when the
// run ends. Where no such directory is writable (most containers mount /sys/fs/cgroup read-only)
// the orphan sweeps (runners/local/orphans.ts) are the only means; they run in both cases. Run
// cgroups carry their daemon's process tag (os/process-tag.ts): those of a daemon that was killed
// are ended, with whatever of its runs still runs in them, when the next one starts.

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fsAsync } from './fs-async.ts';
import { canCloneIntoCgroup } from './linux.ts';
import type { Logger } from '../core/log.ts';
import { wait } from '../core/timers.ts';
import { isStaleRunName, runNamePrefix } from './process-tag.ts';

export interface RunCgroups {
  /** The directory the run cgroups are made in. */
  readonly base: string;
  /** Children can be spawned straight into a run cgroup (Bun.spawn's `cgroup`, through clone3's
   * CLONE_INTO_CGROUP); otherwise each is moved in right after its spawn (`RunCgroup.add`). */
  readonly spawnInto: boolean;
  /** A new empty cgroup for one run, or the reason there is none. */
  create(runId: string): RunCgroup | Error;
  /** Kills and removes the run cgroups a k6gate that no longer runs left (its runs' processes
   * went on without it); returns how many processes they held. */
  sweepStale(logger: Logger): Promise<number>;
}

export interface RunCgroup {
  /** The directory a child is spawned into (Bun.spawn's `cgroup`); all it forks stays there. */
  readonly path: string;
  /** Moves `pid` in, where children cannot be spawned in (`spawnInto` false). Off the event
   * loop: the kernel's write to cgroup.procs waits for an RCU grace period (11 ms median here,
   * bench/README.md "Session 18"), which would stall every request. */
  add(pid: number): Promise<void>;
  /** Kills every process left in the cgroup, waits until it is empty, removes it; returns how
   * many processes it held. */
  killAll(): Promise<number>;
}

const EMPTY_POLL_MS = 5;
const EMPTY_WAIT_MS = 2000;

/** Run cgroups under `setting`: `off`, `auto` (this process's own cgroup v2, when writable) or a
 * cgroup v2 directory. Returns the reason when there are none; throws only for a directory the
 * operator named that cannot be used (the caller makes that a usage error). */
export function openRunCgroups(setting: string): RunCgroups | string {
  if (setting === 'off') return 'turned off (--run-cgroup off)';
  const base = setting === 'auto' ? ownCgroupDir() : setting;
  if (base === undefined) return 'no cgroup v2 hierarchy is mounted';
  const probe = probeWritable(base);
  if (probe !== undefined) {
    if (setting !== 'auto') throw new Error(`${base}: ${probe}`);
    return `${base} is not writable by k6gate (${probe}); delegate it (systemd: Delegate=yes)`;
  }
  return {
    base,
    spawnInto: canCloneIntoCgroup(),
    create(runId) {
      const path = join(base, `${runNamePrefix()}${runId.replace(/[^\w.-]/g, '_')}`);
      try {
        mkdirSync(path);
        return runCgroup(path);
      } catch (err) {
        return err as Error;
      }
    },
    async sweepStale(logger) {
      const stale = readdirSync(base).filter(isStaleRunName);
      const ended = await Promise.allSettled(
        stale.map((name) => runCgroup(join(base, name)).killAll()),
      );
      let killed = 0;
      ended.forEach((end, i) => {
        if (end.status === 'fulfilled') killed += end.value;
        else logger.warn('cannot end a stale run cgroup', { cgroup: stale[i], err: end.reason });
      });
      if (stale.length > 0)
        logger.warn('ended the run cgroups a k6gate that is no longer running left behind', {
          cgroups: stale.length,
          killed,
        });
      return killed;
    },
  };
}

function runCgroup(path: string): RunCgroup {
  return {
    path,
    add: async (pid) => (await fsAsync()).writeFile(join(path, 'cgroup.procs'), String(pid)),
    async killAll() {
      // Usually empty by now (k6 exited, nothing left): one read of cgroup.events, no kill.
      let held = 0;
      if (populated(path)) {
        held = members(path);
        if (held > 0) writeFileSync(join(path, 'cgroup.kill'), '1');
        for (let waited = 0; populated(path) && waited < EMPTY_WAIT_MS; waited += EMPTY_POLL_MS)
          await wait(EMPTY_POLL_MS);
      }
      rmdirSync(path);
      return held;
    },
  };
}

function members(path: string): number {
  return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;
}

function populated(path: string): boolean {
  return /^populated 1$/m.test(readFileSync(join(path, 'cgroup.events'), 'utf8'));
}

// A run cgroup made and removed again: the only sure test of delegation.
function probeWritable(base: string): string | undefined {
  if (!existsSync(join(base, 'cgroup.procs'))) return 'not a cgroup v2 directory';
  const probe = join(base, `k6gate-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** The cgroup v2 mount of this process, from /proc/self/mountinfo: its mount point and the
 * path of the hierarchy it shows (`/` unless a namespace or a bind mount narrowed it). */
export function cgroup2Mount(): { root: string; mount: string } | undefined {
  try {
    const fields = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
    const [root, mount] = [fields?.[3], fields?.[4]];
    return root === undefined || mount === undefined ? undefined : { root, mount };
  } catch {
    return undefined;
  }
}

// This process's cgroup v2 directory: the `0::<path>` line of /proc/self/cgroup under the
// cgroup2 mount.
function ownCgroupDir(): string | undefined {
  try {
    const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    const m = cgroup2Mount();
    if (own === undefined || m === undefined) return undefined;
    return join(m.mount, m.root === '/' ? own : own.slice(m.root.length));
  } catch {
    return undefined;
  }
}
