// The start-up sweeps of what a dead k6gate left: run directories (runners/local/run-dirs.ts)
// and run cgroups (os/cgroup.ts). What goes is decided by whether the process named in it still
// runs (os/process-tag.ts).

import { afterAll, describe, expect, test } from 'bun:test';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openRunCgroups } from '../../src/os/cgroup.ts';
import { runNamePrefix } from '../../src/os/process-tag.ts';
import { sweepStaleRunDirs } from '../../src/runners/local/run-dirs.ts';
import { testCgroupDir } from '../helpers/cgroup.ts';
import { createCapturingLogger } from '../helpers/daemon.ts';
import { startTimeOf } from '../helpers/processes.ts';

const temp = mkdtempSync(join(tmpdir(), 'k6gate-sweep-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function runDir(name: string) {
  mkdirSync(join(temp, name));
  writeFileSync(join(temp, name, 'script.js'), 'export default function () {}');
}

describe.skipIf(process.platform !== 'linux')('stale run directories', () => {
  test('this process names its directories by pid and start time', () => {
    expect(runNamePrefix()).toBe(`k6gate-run-${process.pid}.${startTimeOf(process.pid)}-`);
  });

  test("a dead maker's and a reused pid's go; a live process's, other names and links stay", async () => {
    const dead = Bun.spawn(['true']);
    await dead.exited;
    const live = Bun.spawn(['sleep', '30']);
    try {
      const liveStart = startTimeOf(live.pid);
      runDir(`k6gate-run-${dead.pid}.12345-aaaaaa`); // its maker exited
      runDir(`k6gate-run-${process.pid}.1-bbbbbb`); // this pid, another start: a restart's PID 1
      runDir(`${runNamePrefix()}cccccc`); // this process's own
      runDir(`k6gate-run-${live.pid}.${liveStart}-dddddd`); // another live process's
      runDir('k6gate-run-eeeeee'); // an older k6gate's name: no maker to ask
      runDir('unrelated');
      const elsewhere = mkdtempSync(join(tmpdir(), 'k6gate-sweep-target-'));
      writeFileSync(join(elsewhere, 'keep'), 'x');
      symlinkSync(elsewhere, join(temp, `k6gate-run-${dead.pid}.1-ffffff`));
      const { logger, records } = createCapturingLogger();

      expect(sweepStaleRunDirs(temp, logger)).toBe(2);

      expect(readdirSync(temp).sort()).toEqual(
        [
          `${runNamePrefix()}cccccc`,
          `k6gate-run-${dead.pid}.1-ffffff`,
          `k6gate-run-${live.pid}.${liveStart}-dddddd`,
          'k6gate-run-eeeeee',
          'unrelated',
        ].sort(),
      );
      expect(readdirSync(elsewhere)).toEqual(['keep']); // the link was not followed
      rmSync(elsewhere, { recursive: true });
      expect(records.find((r) => r.msg.startsWith('removed run directories'))).toMatchObject({
        level: 'warn',
        removed: 2,
      });
    } finally {
      live.kill('SIGKILL');
    }
  });

  test('a temp dir that cannot be read is no error (readiness reports it)', () => {
    const { logger } = createCapturingLogger();
    expect(sweepStaleRunDirs(join(temp, 'missing'), logger)).toBe(0);
  });
});

const base = process.platform === 'linux' ? testCgroupDir('sweep') : undefined;
if (!base) console.log('SKIP stale run cgroups: no cgroup v2 hierarchy this process can write');

describe.skipIf(!base)('stale run cgroups', () => {
  test("a dead maker's cgroup is killed whole and removed; this process's own stays", async () => {
    const cgroups = openRunCgroups(base as string);
    if (typeof cgroups === 'string') throw new Error(cgroups);
    const dead = Bun.spawn(['true']);
    await dead.exited;
    const stalePath = join(base as string, `k6gate-run-${dead.pid}.1-01abc`);
    mkdirSync(stalePath);
    const leftover = Bun.spawn(['sleep', '60']);
    writeFileSync(join(stalePath, 'cgroup.procs'), String(leftover.pid));
    const own = cgroups.create('01live');
    if (own instanceof Error) throw own;
    try {
      const { logger, records } = createCapturingLogger();

      expect(await cgroups.sweepStale(logger)).toBe(1);

      expect(await leftover.exited).not.toBe(0); // killed by cgroup.kill
      expect(readdirSync(base as string).filter((n) => n.startsWith('k6gate-run-'))).toEqual([
        basename(own.path),
      ]);
      expect(own.path).toContain(`k6gate-run-${process.pid}.${startTimeOf(process.pid)}-`);
      expect(records.find((r) => r.msg.startsWith('ended the run cgroups'))).toMatchObject({
        cgroups: 1,
        killed: 1,
      });
    } finally {
      leftover.kill('SIGKILL');
      await own.killAll();
      rmdirSync(base as string);
    }
  });
});
