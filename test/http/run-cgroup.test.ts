// A local run's cgroup (os/cgroup.ts, runners/local/runner.ts): k6 is spawned into it. One that
// cannot be joined is said once and removed, and the run goes on without it, as when none can be
// made. (A real delegated cgroup, joined from k6's first instruction: test/e2e/hardening.test.ts.)

import { expect, test } from 'bun:test';
import type { RunCgroup, RunCgroups } from '../../src/os/cgroup.ts';
import { doubleScript } from '../helpers/processes.ts';
import { flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';

test('a cgroup that cannot be joined: the run passes without it, said once, the cgroup removed', async () => {
  const made: string[] = [];
  const removed: string[] = [];
  const cgroups: RunCgroups = {
    base: '/nonexistent/k6gate-test',
    create(runId): RunCgroup {
      const path = `/nonexistent/k6gate-test/${runId}`; // never made: Bun.spawn cannot open it
      made.push(path);
      return {
        path,
        killAll: () => {
          removed.push(path);
          return Promise.resolve(0);
        },
      };
    },
    sweepStale: () => Promise.resolve(0),
  };
  await using d = startInProcess({ runCgroups: cgroups });
  const res = await postLaunch(
    d.url,
    flaggerPayload({ script: doubleScript('mode=pass duration=0s'), wait_for_results: 'true' }),
  );
  expect(res.status).toBe(200);
  expect(made).toHaveLength(1);
  expect(removed).toEqual(made);
  const warnings = d.records.filter(
    (r) => r.msg === 'cannot give the run a cgroup; sweeps end what it leaves behind',
  );
  expect(warnings).toHaveLength(1);
  expect(JSON.stringify(warnings[0]!.err)).toContain('/nonexistent/k6gate-test');
});
