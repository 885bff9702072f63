// JSON verdicts: `Accept: application/json` on /launch-test gets the verdict as an object that
// schemas/verdict.schema.json describes (checked here with ajv against real answers from the
// daemon and the k6 double); without it, the text answer Flagger reads is unchanged.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { flaggerPayload, postLaunch, REPO, startInProcess } from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';

const schema = JSON.parse(readFileSync(join(REPO, 'schemas/verdict.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
const asJson = { headers: { 'Content-Type': 'application/json', Accept: 'application/json' } };

let d: ReturnType<typeof startInProcess>;
beforeAll(() => {
  d = startInProcess({});
});
afterAll(async () => {
  await d.close();
});

const expectValid = (body: unknown) => {
  const ok = validate(body);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
};

test('a passing run: 200 with verdict passed, every threshold passed, key metrics', async () => {
  const res = await postLaunch(
    d.url,
    flaggerPayload({ script: doubleScript('mode=pass duration=0s') }),
    asJson,
  );
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as Record<string, any>;
  expectValid(body);
  expect(body).toMatchObject({ verdict: 'passed', exitCode: 0, runner: 'local', cloudUrl: null });
  expect(res.headers.get('x-k6gate-run-id')).toBe(body.runId);
  expect(body.thresholds).toEqual([
    { metric: 'http_req_duration', threshold: 'p(95)<200', passed: true },
  ]);
  expect(body.metrics.iterations.count).toBeGreaterThan(0);
  expect(body.outputTail).toContain('output: -');
});

test('crossed thresholds: 400 with the same object, the crossed ones passed=false, and the message', async () => {
  const res = await postLaunch(
    d.url,
    flaggerPayload({
      script: doubleScript('mode=fail-thresholds duration=0s crossed=http_req_failed'),
      min_failure_delay: '0',
    }),
    asJson,
  );
  expect(res.status).toBe(400);
  const body = (await res.json()) as Record<string, any>;
  expectValid(body);
  expect(body).toMatchObject({ verdict: 'failed', exitCode: 99 });
  // A failed run's answer names its run as a passed one does.
  expect(body.runId).toBeString();
  expect(res.headers.get('x-k6gate-run-id')).toBe(body.runId);
  expect(body.message).toStartWith('failed to run: exit status 99 (thresholds crossed');
  expect(body.thresholds).toContainEqual({
    metric: 'http_req_failed',
    threshold: 'rate<0.01',
    passed: false,
  });
  expect(body.thresholds).toContainEqual({
    metric: 'http_req_duration',
    threshold: 'p(95)<200',
    passed: true,
  });
  expect(body.metrics.http_req_failed.value).toBe(0.125);
});

test('a script error (no summary export): thresholds and metrics are null, still valid', async () => {
  const res = await postLaunch(
    d.url,
    flaggerPayload(
      { script: doubleScript('mode=exception'), min_failure_delay: '0' },
      { name: 'exc' },
    ),
    asJson,
  );
  expect(res.status).toBe(400);
  const body = (await res.json()) as Record<string, any>;
  expectValid(body);
  expect(body).toMatchObject({ exitCode: 107, thresholds: null, metrics: null });
});

test('without Accept: application/json the text answer is as before', async () => {
  const res = await postLaunch(
    d.url,
    flaggerPayload({ script: doubleScript('mode=pass duration=0s') }, { name: 'text' }),
  );
  expect(res.headers.get('content-type')).toContain('text/plain');
  expect(await res.text()).toContain('output: -');
});

test('the schema rejects what it must (the test has teeth)', () => {
  expect(validate({ verdict: 'maybe' })).toBe(false);
});
