// The runner seam's test implementation: runs that start and finish when a test says so, so
// the launch rules (admission order, slot release, failure cache, cancellation) are tested
// without processes.

import {
  runResult,
  type CancelReason,
  type RunHandle,
  type RunResult,
  type Runner,
  type RunSpec,
  type StartOutcome,
} from '../../src/runners/runner.ts';

interface ScriptedRun {
  spec: RunSpec;
  canceled: CancelReason | undefined;
  start(outcome?: StartOutcome): void;
  finish(result?: Partial<RunResult>): void;
}

export function createScriptedRunner(opts: { failStart?: Error; clock?: { now(): number } } = {}) {
  const runs: ScriptedRun[] = [];
  let pid = 1000;
  const runner: Runner = {
    async start(spec) {
      if (opts.failStart) throw opts.failStart;
      const started = Promise.withResolvers<StartOutcome>();
      const result = Promise.withResolvers<RunResult>();
      const run: ScriptedRun = {
        spec,
        canceled: undefined,
        start: (outcome = { kind: 'started', cloudUrl: undefined }) => started.resolve(outcome),
        finish: (over = {}) =>
          result.resolve(
            runResult({
              runId: spec.runId,
              exitCode: 0,
              verdict: 'passed',
              reason: 'all thresholds passed',
              durationMs: 5,
              cancelReason: run.canceled,
              output: `output of ${spec.runId}`,
              outputBytes: 10,
              ...over,
            }),
          ),
      };
      runs.push(run);
      const handle: RunHandle = {
        runId: spec.runId,
        pid: ++pid,
        startedAt: (opts.clock ?? Date).now(),
        started: started.promise,
        result: result.promise,
        cancel(reason) {
          run.canceled ??= reason;
          run.start({ kind: 'exited' });
          run.finish({ verdict: 'aborted', reason: `canceled: ${reason}`, exitCode: 105 });
        },
        output: () => '',
      };
      return handle;
    },
  };
  return { runner, runs };
}
