// A run record as the store keeps it, for tests that write the store directly: a run of
// team-a/web still under way, with whatever the test overrides.

import type { RunRecord } from '../../src/store/store.ts';

export const runRecord = (over: Partial<RunRecord> & Pick<RunRecord, 'runId'>): RunRecord => ({
  namespace: 'team-a',
  name: 'web',
  phase: 'Progressing',
  checksum: 'rev1',
  hook: 'h',
  runner: 'local',
  startedAt: 1000,
  heartbeatAt: 1000,
  endedAt: null,
  verdict: null,
  reason: null,
  exitCode: null,
  script: 's',
  summary: null,
  outputTail: null,
  ...over,
});
