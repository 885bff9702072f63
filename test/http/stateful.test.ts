// Stateful rollout hooks (metadata mode: "stateful") with the real local runner and the k6
// double, called as Flagger's analysis loop calls a rollout hook (here every second): 202
// started, 202 running (elapsed, k6's progress line), then 200 with the summary — or 400 with
// the reason, answered again on the next call; one k6 for the whole loop; a new checksum ends
// the old run and starts afresh; the verdict is forgotten after --stateful-ttl.

import { afterEach, expect, test } from 'bun:test';
import { analysisLoop, flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';

let d: ReturnType<typeof startInProcess> | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});

const hook = (script: string, over: { checksum?: string; name?: string } = {}) => ({
  ...flaggerPayload({ script, mode: 'stateful' }, { name: over.name ?? 'web' }),
  type: 'rollout',
  ...(over.checksum ? { checksum: over.checksum } : {}),
});

const launches = () => d!.records.filter((r) => r.msg === 'launched k6').length;

test('a passing test: 202 started, 202 running with progress, then 200 with the summary; one k6', async () => {
  d = startInProcess();
  const answers = await analysisLoop(d.url, hook(doubleScript('mode=pass duration=4s')));
  const statuses = answers.map((a) => a.status);
  expect(statuses[0]).toBe(202);
  expect(answers[0]!.first).toStartWith('started: run ');
  expect(statuses.at(-1)).toBe(200);
  expect(statuses.slice(0, -1).every((s) => s === 202)).toBe(true);
  expect(statuses.length).toBeGreaterThanOrEqual(4);
  const running = answers.slice(1, -1).map((a) => a.first);
  // k6's own progress bar, as it last printed it.
  expect(running).toContainEqual(
    expect.stringMatching(/^running for \d+s: default +\[ +\d+% \] 1 VUs +0m0\d\.\ds\/4s$/),
  );
  expect(answers.at(-1)!.text).toContain('█ THRESHOLDS'); // k6's summary
  expect(launches()).toBe(1);
  // Asked again after the verdict: the same 200, no new run.
  const again = await postLaunch(d.url, hook(doubleScript('mode=pass duration=4s')));
  expect(again.status).toBe(200);
  expect(launches()).toBe(1);
}, 30_000);

test('a failing test: 202 … then 400 with the reason, and 400 again on the next interval', async () => {
  d = startInProcess();
  const body = hook(doubleScript('mode=fail-thresholds duration=3s'));
  const answers = await analysisLoop(d.url, body);
  expect(answers[0]!.status).toBe(202);
  expect(answers.at(-1)).toMatchObject({
    status: 400,
    first: 'failed to run: exit status 99 (thresholds crossed: http_req_duration)',
  });
  const next = await postLaunch(d.url, body);
  expect(next.status).toBe(400);
  expect((await next.text()).split('\n')[0]).toBe(
    'failed to run: exit status 99 (thresholds crossed: http_req_duration)',
  );
  expect(launches()).toBe(1);
}, 30_000);

test('a new checksum (a new revision) ends the old run and starts afresh', async () => {
  d = startInProcess();
  const script = doubleScript('mode=pass duration=30s');
  const first = await postLaunch(d.url, hook(script, { checksum: 'rev-1' }));
  expect(first.status).toBe(202);
  const second = await postLaunch(d.url, hook(script, { checksum: 'rev-2' }));
  expect(second.status).toBe(202);
  expect((await second.text()).split('\n')[0]).toStartWith('started: run ');
  expect(launches()).toBe(2);
  const stopped = d.records.find((r) => r.msg === 'stopping k6');
  expect(stopped).toMatchObject({ reason: 'superseded' });
  // The old revision's run ended as superseded; the new one is the run answered now.
  const now = await postLaunch(d.url, hook(script, { checksum: 'rev-2' }));
  expect(now.status).toBe(202);
  expect((await now.text()).split('\n')[0]).toMatch(/^running for \d+s/);
}, 30_000);

test('after --stateful-ttl the verdict is forgotten: the next call starts a new run', async () => {
  d = startInProcess({ args: ['--stateful-ttl', '3s'] });
  const body = hook(doubleScript('mode=pass duration=1s'));
  const answers = await analysisLoop(d.url, body);
  expect(answers.at(-1)!.status).toBe(200);
  await Bun.sleep(3200);
  const fresh = await postLaunch(d.url, body);
  expect(fresh.status).toBe(202);
  expect((await fresh.text()).split('\n')[0]).toStartWith('started: run ');
  expect(launches()).toBe(2);
}, 30_000);

test('a script that fails to start: 400 at once on the first call', async () => {
  d = startInProcess();
  const res = await postLaunch(d.url, hook(doubleScript('mode=exception')));
  expect(res.status).toBe(400);
  expect((await res.text()).split('\n')[0]).toStartWith(
    'error while waiting for test to start: k6 exited before starting (exit status 107',
  );
});
