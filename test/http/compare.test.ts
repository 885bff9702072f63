// Relative thresholds against real load: the k6 double runs the same script against two test
// servers on loopback (the "canary" and the "primary", each answering after its own delay), so
// http_req_duration is measured, not scripted. Metadata `compare` judges the canary against the
// primary's run made at the same time, or against the last promoted revision's stored summary.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { flaggerPayload, postLaunch, REPO, startInProcess } from '../helpers/daemon.ts';

const SCRIPT = readFileSync(join(REPO, 'test/fixtures/scripts/load-healthy.js'), 'utf8');
// +50 ms: the fast target's p95 can grow by tens of ms on a loaded 2-core machine (a CI run
// failed an equal canary at +15); the slow one answers after 120 ms, so a worse canary still fails.
const RULES =
  'http_req_duration.p(95) <= 1.5 * baseline + 50; http_req_failed.rate <= baseline + 0.01';
const schema = JSON.parse(readFileSync(join(REPO, 'schemas/verdict.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
const asJson = { headers: { 'Content-Type': 'application/json', Accept: 'application/json' } };

/** A target answering /healthy after `delayMs`. */
function target(delayMs: number) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch() {
      await Bun.sleep(delayMs);
      return new Response('ok');
    },
  });
}

let d: ReturnType<typeof startInProcess>;
let fast: ReturnType<typeof target>;
let slow: ReturnType<typeof target>;
const urlOf = (s: ReturnType<typeof target>) => `http://127.0.0.1:${s.port}`;
beforeAll(() => {
  d = startInProcess({ args: ['--max-concurrent-tests', '4'] });
  fast = target(2);
  slow = target(120);
});
afterAll(async () => {
  await d.close();
  await Promise.all([fast.stop(true), slow.stop(true)]);
});

const compared = (checksum: string, canary: string, more: Record<string, string> = {}) =>
  flaggerPayload(
    {
      script: SCRIPT,
      env_vars: JSON.stringify({ TARGET: canary }),
      compare: RULES,
      min_failure_delay: '0',
      ...more,
    },
    { checksum, name: `app-${checksum.split('-')[0]}` },
  );

// The primary's run hits the fast target (baseline_env_vars), whatever the canary's hits.
const againstFastPrimary = () => ({
  baseline: 'primary',
  baseline_env_vars: JSON.stringify({ TARGET: urlOf(fast) }),
});

async function launch(body: object) {
  const res = await postLaunch(d.url, body, asJson);
  const json = (await res.json()) as Record<string, any>;
  expect(validate(json)).toBe(true);
  return { status: res.status, json };
}

test('against the primary: a slower canary fails with the rule and both values; equal passes', async () => {
  const primary = againstFastPrimary();
  const [worse, equal] = await Promise.all([
    launch(compared('p-rev1', urlOf(slow), primary)),
    launch(compared('q-rev1', urlOf(fast), primary)),
  ]);
  expect(worse.status).toBe(400);
  expect(worse.json.verdict).toBe('failed');
  expect(worse.json.exitCode).toBe(0); // k6 itself passed: its absolute thresholds held
  expect(worse.json.reason).toMatch(
    /^worse than the baseline: http_req_duration p\(95\) \d+(\.\d+)?ms > 1\.5 × baseline \d+(\.\d+)?ms \+ 50ms \(primary\)$/,
  );
  const rule = worse.json.comparison.rules[0];
  expect(rule).toMatchObject({ metric: 'http_req_duration', stat: 'p(95)', passed: false });
  expect(rule.value).toBeGreaterThan(100);
  expect(rule.baseline).toBeLessThan(50);
  expect(worse.json.comparison.baselineRunId).not.toBe(worse.json.runId);
  expect(worse.json.comparison.rules[1]).toMatchObject({ metric: 'http_req_failed', passed: true });

  expect(equal.status).toBe(200);
  expect(equal.json.comparison).toMatchObject({ baseline: 'primary', missing: null, failed: [] });
  expect(equal.json.comparison.rules.map((r: { passed: boolean }) => r.passed)).toEqual([
    true,
    true,
  ]);
  expect(equal.json.reason).toContain('2 compare rule(s) held against the primary baseline');
}, 30_000);

test('a passing compared run: its text answer ends with how the comparison went', async () => {
  const res = await postLaunch(d.url, compared('e-rev1', urlOf(fast), againstFastPrimary()));
  expect(res.status).toBe(200);
  const last = (await res.text()).trimEnd().split('\n').at(-1);
  expect(last).toBe(
    'k6gate: all thresholds passed; 2 compare rule(s) held against the primary baseline',
  );
}, 30_000);

test('the text answer Flagger reads starts with the failed rule', async () => {
  const res = await postLaunch(d.url, compared('t-rev1', urlOf(slow), againstFastPrimary()));
  expect(res.status).toBe(400);
  const first = (await res.text()).split('\n')[0];
  expect(first).toMatch(/^worse than the baseline: http_req_duration p\(95\) .+ \(primary\)$/);
}, 30_000);

test('against the last promoted revision: none yet, then a slower revision fails, an equal one passes', async () => {
  const rev = (n: number, t: ReturnType<typeof target>) =>
    compared(`l-rev${n}`, urlOf(t), {}).metadata;
  const send = (n: number, t: ReturnType<typeof target>) =>
    launch(flaggerPayload(rev(n, t), { name: 'web', checksum: `rev${n}` }));
  const first = await send(1, fast);
  expect(first.status).toBe(200);
  expect(first.json.comparison).toMatchObject({ baseline: 'last-promoted', baselineRunId: null });
  expect(first.json.comparison.missing).toContain('no baseline yet');
  expect(first.json.reason).toContain('not compared: no baseline yet');

  const second = await send(2, slow);
  expect(second.status).toBe(400);
  expect(second.json.reason).toContain('(last-promoted)');
  expect(second.json.comparison.baselineRunId).toBe(first.json.runId);

  // rev2 failed, so rev1 is still the last that passed
  const third = await send(3, fast);
  expect(third.status).toBe(200);
  expect(third.json.comparison.baselineRunId).toBe(first.json.runId);
}, 30_000);

test('baseline_missing: fail fails a run with nothing to compare with', async () => {
  const { status, json } = await launch(
    compared('m-rev1', urlOf(fast), { baseline_missing: 'fail' }),
  );
  expect(status).toBe(400);
  expect(json.reason).toMatch(/^not compared \(baseline_missing: fail\): no baseline yet/);
}, 30_000);

test.each([
  [
    { compare: 'http_req_duration.p95 <= baseline' },
    'metadata.compare',
    'rule 1 "http_req_duration.p95 <= baseline": expected <metric>.<stat>',
  ],
  [{ compare: 'http_req_duration.p(95) <= 1.1 * primary' }, 'metadata.compare', 'on the right'],
  [{ compare: 'http_req_failed.rate = baseline' }, 'metadata.compare', 'no comparison'],
  [
    { compare: 'a.avg <= baseline', baseline: 'yesterday' },
    'metadata.baseline',
    '"primary" or "last-promoted"',
  ],
  [{ baseline: 'primary' }, 'metadata.baseline', 'needs metadata.compare'],
  [
    { compare: 'a.avg <= baseline', baseline_env_vars: '{"TARGET":"x"}' },
    'metadata.baseline_env_vars',
    'only used with baseline "primary"',
  ],
  [
    { compare: 'a.avg <= baseline', baseline_missing: 'maybe' },
    'metadata.baseline_missing',
    '"pass"',
  ],
])('a bad compare key is a 400 naming it: %o', async (meta, field, says) => {
  const res = await postLaunch(d.url, flaggerPayload({ script: SCRIPT, ...meta }), asJson);
  expect(res.status).toBe(400);
  const { error } = (await res.json()) as { error: { field: string; message: string } };
  expect(error.field).toBe(field);
  expect(error.message).toContain(says);
});

test('against the primary with one free slot: 429 (two runs need two), and the slot is not kept', async () => {
  const one = startInProcess({ args: ['--max-concurrent-tests', '1'] });
  try {
    const refused = await postLaunch(
      one.url,
      compared('s-rev1', urlOf(fast), againstFastPrimary()),
    );
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    const alone = await postLaunch(one.url, compared('s-rev2', urlOf(fast)));
    expect(alone.status).toBe(200); // last-promoted needs no second run: the one slot was free
  } finally {
    await one.close();
  }
}, 30_000);
