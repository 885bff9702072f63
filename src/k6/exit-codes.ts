// k6's exit codes (errext/exitcodes, identical in k6 v1.0–v2.2) mapped to verdicts in one table.

export type Verdict = 'passed' | 'failed' | 'aborted' | 'error';

export const K6_EXIT = {
  OK: 0,
  CLOUD_TEST_RUN_FAILED: 97,
  CLOUD_FAILED_TO_GET_PROGRESS: 98,
  THRESHOLDS_HAVE_FAILED: 99,
  SETUP_TIMEOUT: 100,
  TEARDOWN_TIMEOUT: 101,
  GENERIC_TIMEOUT: 102,
  SCRIPT_STOPPED_FROM_REST_API: 103,
  INVALID_CONFIG: 104,
  EXTERNAL_ABORT: 105,
  CANNOT_START_REST_API: 106,
  SCRIPT_EXCEPTION: 107,
  SCRIPT_ABORTED: 108,
  GO_PANIC: 109,
  MARKED_AS_FAILED: 110,
  UNCODED_ERROR: 255,
} as const;

interface ExitMeaning {
  verdict: Verdict;
  reason: string;
}

const EXIT_TABLE: ReadonlyMap<number, ExitMeaning> = new Map([
  [K6_EXIT.OK, { verdict: 'passed', reason: 'all thresholds passed' }],
  [K6_EXIT.CLOUD_TEST_RUN_FAILED, { verdict: 'failed', reason: 'the k6 Cloud test run failed' }],
  [
    K6_EXIT.CLOUD_FAILED_TO_GET_PROGRESS,
    { verdict: 'error', reason: 'k6 could not get the test progress from k6 Cloud' },
  ],
  [K6_EXIT.THRESHOLDS_HAVE_FAILED, { verdict: 'failed', reason: 'thresholds crossed' }],
  [K6_EXIT.SETUP_TIMEOUT, { verdict: 'failed', reason: 'setup() timed out' }],
  [K6_EXIT.TEARDOWN_TIMEOUT, { verdict: 'failed', reason: 'teardown() timed out' }],
  [K6_EXIT.GENERIC_TIMEOUT, { verdict: 'failed', reason: 'k6 timed out' }],
  [
    K6_EXIT.SCRIPT_STOPPED_FROM_REST_API,
    { verdict: 'aborted', reason: 'stopped through the k6 REST API' },
  ],
  [K6_EXIT.INVALID_CONFIG, { verdict: 'error', reason: 'invalid k6 options or configuration' }],
  [K6_EXIT.EXTERNAL_ABORT, { verdict: 'aborted', reason: 'aborted by a signal' }],
  [K6_EXIT.CANNOT_START_REST_API, { verdict: 'error', reason: 'k6 could not start its REST API' }],
  [
    K6_EXIT.SCRIPT_EXCEPTION,
    { verdict: 'error', reason: 'script error (exception or syntax error)' },
  ],
  [K6_EXIT.SCRIPT_ABORTED, { verdict: 'failed', reason: 'the script called test.abort()' }],
  [K6_EXIT.GO_PANIC, { verdict: 'error', reason: 'k6 crashed (Go panic)' }],
  [K6_EXIT.MARKED_AS_FAILED, { verdict: 'failed', reason: 'the script marked the test as failed' }],
  [
    K6_EXIT.UNCODED_ERROR,
    { verdict: 'error', reason: 'k6 failed before running (see its output)' },
  ],
]);

/** The verdict and a human reason for a k6 exit code. */
export function explainExitCode(code: number): ExitMeaning {
  return EXIT_TABLE.get(code) ?? { verdict: 'error', reason: `unknown k6 exit code ${code}` };
}

/** All known codes, for docs and tests. */
export function knownExitCodes(): number[] {
  return [...EXIT_TABLE.keys()];
}
