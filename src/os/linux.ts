// The few Linux system calls k6gate needs beyond what Bun offers, through bun:ffi and libc:
// prctl (non-dumpable, child subreaper), pipe2 (one pipe for a child's stdout and stderr, so
// emission order is kept), waitpid on one pid (reaping orphans re-parented to the daemon), and a
// probe of clone3's CLONE_INTO_CGROUP (a child spawned straight into its run cgroup).
// Loaded on first use; on other platforms every call reports "unsupported".

import { dlopen, FFIType, ptr, read } from 'bun:ffi';
import { readdirSync, readFileSync } from 'node:fs';

const PR_SET_DUMPABLE = 4;
const PR_SET_CHILD_SUBREAPER = 36;
const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | null | undefined;

function openLibc() {
  return dlopen('libc.so.6', {
    prctl: {
      args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64],
      returns: FFIType.i32,
    },
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    syscall: { args: [FFIType.i64, FFIType.ptr, FFIType.u64], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    libc = process.platform === 'linux' ? openLibc() : null;
  } catch {
    libc = null;
  }
  return libc;
}

/** Makes this process non-dumpable: processes of the same UID (k6 children, scripts) can no
 * longer read /proc/<pid>/environ, mem or maps. Returns false when it could not. */
export function makeNonDumpable(): boolean {
  return loadLibc()?.prctl(PR_SET_DUMPABLE, 0n, 0n, 0n, 0n) === 0;
}

/** Orphaned descendants (a grandchild that left its process group with setsid, say) are
 * re-parented to this process instead of init, so they can be found, killed and reaped. */
export function becomeChildSubreaper(): boolean {
  return loadLibc()?.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) === 0;
}

const SYS_CLONE3 = 435; // the same on x86_64 and arm64
const CLONE_INTO_CGROUP = 0x200000000n;
const CLONE_ARGS_SIZE_VER2 = 88; // up to and with `cgroup`
const EBADF = 9;

/** Whether clone3 can start a child in a given cgroup (CLONE_INTO_CGROUP: Linux 5.7+, and not
 * refused by a seccomp filter; systemd's RestrictNamespaces= answers ENOSYS for every clone3).
 * Asked with a descriptor that cannot be open (INT_MAX): a kernel that would do it fails with
 * EBADF before any process is made; one that would not says ENOSYS, EPERM or EINVAL. */
export function canCloneIntoCgroup(): boolean {
  const c = loadLibc();
  if (!c) return false;
  const args = new BigUint64Array(CLONE_ARGS_SIZE_VER2 / 8);
  args[0] = CLONE_INTO_CGROUP; // flags; exit_signal and the rest 0
  args[10] = 0x7fffffffn; // cgroup: a descriptor number no process holds
  const r = c.syscall(BigInt(SYS_CLONE3), ptr(args), BigInt(CLONE_ARGS_SIZE_VER2));
  return r === -1n && read.i32(c.__errno_location()!, 0) === EBADF;
}

/** A pipe with close-on-exec on both ends: [read, write]. */
export function openPipe(): [number, number] {
  const c = loadLibc();
  if (!c) throw new Error('pipes through libc are not supported on this platform');
  const fds = new Int32Array(2);
  if (c.pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new Error('pipe2 failed (too many open files?)');
  return [fds[0] as number, fds[1] as number];
}

/** Reaps `pid` if it has exited; true when reaped or not a child of ours (nothing to wait for). */
export function reapIfExited(pid: number): boolean {
  const c = loadLibc();
  if (!c) return true;
  const status = new Int32Array(1);
  const r = c.waitpid(pid, ptr(status), WNOHANG);
  return r !== 0; // 0: still running; pid: reaped; -1: not our child (ECHILD)
}

/** This process's children with their state letter (Z for zombie). Read from
 * /proc/self/task/<tid>/children where the kernel has it (any thread may adopt an orphan),
 * otherwise from every /proc/<pid>/stat. */
export function listChildren(): { pid: number; state: string }[] {
  const fromTasks = childPidsFromTasks();
  const candidates =
    fromTasks ??
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  const children: { pid: number; state: string }[] = [];
  for (const pid of candidates) {
    const stat = readStat(pid);
    if (stat && (fromTasks || stat.ppid === process.pid)) children.push({ pid, state: stat.state });
  }
  return children;
}

/** Every live process under `roots` (the roots included), from one reading of /proc: the
 * whole subtree, so a chain can be stopped at once instead of one level per pass. */
export function subtreesOf(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat || stat.state === 'Z') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const found: number[] = [];
  const queue = [...roots];
  const seen = new Set<number>();
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    if (seen.has(pid)) continue;
    seen.add(pid);
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function childPidsFromTasks(): number[] | undefined {
  try {
    const pids: number[] = [];
    for (const tid of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
      for (const pid of text.split(' ')) if (pid.trim() !== '') pids.push(Number(pid));
    }
    return pids;
  } catch {
    return undefined;
  }
}

/** A process's state letter, parent and start time (clock ticks since boot) from
 * /proc/<pid>/stat; undefined when there is no such process (or no /proc). It reads the stat of
 * the process's main thread, /proc/<pid>/task/<pid>/stat, which holds the same fields: qemu-user
 * (an arm64 image on an amd64 host) answers a process's reads of its own /proc/<pid>/stat with
 * a start time of its making, a tick or more off what every other process reads. */
export function readStat(
  pid: number,
): { state: string; ppid: number; start: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return undefined; // gone while we looked
  }
}
