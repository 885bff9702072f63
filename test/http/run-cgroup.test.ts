// A local run's cgroup (os/cgroup.ts, runners/local/runner.ts): k6 is spawned into it, or moved in
// right after its spawn where clone3 cannot start it there. One that cannot be joined is said
// once and removed, and the run goes on without it, as when none can be made. (A real delegated
// cgroup, both ways, the compiled daemon as nobody: test/e2e/hardening.test.ts.)

import { expect, test } from 'bun:test';
import { existsSync, rmdirSync } from 'node:fs';
import { openRunCgroups, type RunCgroup, type RunCgroups } from '../../src/os/cgroup.ts';
import { testCgroupDir } from '../helpers/cgroup.ts';
import { doubleScript } from '../helpers/processes.ts';
import { flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';

const passingRun = (url: string) =>
  postLaunch(
    url,
    flaggerPayload({ script: doubleScript('mode=pass duration=0s'), wait_for_results: 'true' }),
  );

test('a cgroup that cannot be joined: the run passes without it, said once, the cgroup removed', async () => {
  const made: string[] = [];
  const removed: string[] = [];
  const cgroups: RunCgroups = {
    base: '/nonexistent/k6gate-test',
    spawnInto: true,
    create(runId): RunCgroup {
      const path = `/nonexistent/k6gate-test/${runId}`; // never made: Bun.spawn cannot open it
      made.push(path);
      return {
        path,
        add: () => Promise.reject(new Error('spawned into, never moved')),
        killAll: () => {
          removed.push(path);
          return Promise.resolve(0);
        },
      };
    },
    sweepStale: () => Promise.resolve(0),
  };
  await using d = startInProcess({ runCgroups: cgroups });
  expect((await passingRun(d.url)).status).toBe(200);
  expect(made).toHaveLength(1);
  expect(removed).toEqual(made);
  const warnings = d.records.filter(
    (r) => r.msg === 'cannot give the run a cgroup; sweeps end what it leaves behind',
  );
  expect(warnings).toHaveLength(1);
  expect(JSON.stringify(warnings[0]!.err)).toContain('/nonexistent/k6gate-test');
});

test('where clone3 cannot spawn into a cgroup (systemd RestrictNamespaces=), k6 is moved in after its spawn', async () => {
  const base = testCgroupDir('move');
  if (!base) {
    console.log('SKIP the move into a run cgroup: no cgroup v2 directory can be made here');
    return;
  }
  try {
    const real = openRunCgroups(base);
    if (typeof real === 'string') throw new Error(real);
    const moved: { path: string; pid: number }[] = [];
    const cgroups: RunCgroups = {
      ...real,
      spawnInto: false,
      create(runId) {
        const cgroup = real.create(runId);
        if (cgroup instanceof Error) return cgroup;
        return {
          ...cgroup,
          add: (pid) => (moved.push({ path: cgroup.path, pid }), cgroup.add(pid)),
        };
      },
    };
    await using d = startInProcess({ runCgroups: cgroups });
    expect((await passingRun(d.url)).status).toBe(200);
    expect(moved).toHaveLength(1);
    expect(moved[0]!.pid).toBeGreaterThan(0);
    expect(existsSync(moved[0]!.path)).toBe(false); // removed with the run
    expect(d.records.some((r) => r.msg.startsWith('cannot give the run a cgroup'))).toBe(false);
  } finally {
    rmdirSync(base);
  }
});
