// Slack through the whole daemon: a waited pass, an async run (which gets its final update,
// unlike the original), a run that never starts, and a daemon token that never reaches k6.

import { doubleScript } from '../helpers/processes.ts';
import { afterAll, describe, expect, test } from 'bun:test';
import { createSlackNotifier } from '../../src/notify/slack.ts';
import {
  createCapturingLogger,
  flaggerPayload,
  postLaunch,
  waitFor,
  startInProcess,
} from '../helpers/daemon.ts';
import { startSlackRecorder } from '../helpers/slack-recorder.ts';

const recorder = startSlackRecorder();
const { logger } = createCapturingLogger();
const TOKEN = 'xoxb-daemon-secret';
const d = startInProcess({
  notifier: createSlackNotifier({ token: TOKEN, apiUrl: recorder.apiUrl, logger, retries: 0 }),
  env: { SLACK_TOKEN: TOKEN },
});
afterAll(async () => {
  await d.close();
  await recorder.stop();
});

describe('Slack through the daemon', () => {
  test('a waited pass: start, upload in the thread, update to succeeded; SLACK_TOKEN not in k6', async () => {
    recorder.calls.length = 0;
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        {
          script: doubleScript('mode=pass duration=0s report-env=SLACK_TOKEN'),
          slack_channels: 'team',
          notification_context: 'Cluster: `dev`',
        },
        { name: 'waited' },
      ),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('k6-double env SLACK_TOKEN unset');
    await waitFor(() => recorder.methods().includes('chat.update'));
    expect(recorder.methods()).toEqual([
      'chat.postMessage',
      'files.getUploadURLExternal',
      'upload',
      'files.completeUploadExternal',
      'chat.update',
    ]);
    expect(recorder.calls[0]?.params.text).toContain('`waited` in namespace `test` has started');
    expect(JSON.stringify(recorder.calls[0]?.params.blocks)).toContain('Cluster: `dev`');
    expect(recorder.calls[4]?.params.text).toContain('has succeeded');
  }, 30_000);

  test('an async run gets its start message at once and its final update when k6 exits', async () => {
    recorder.calls.length = 0;
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        {
          script: doubleScript('mode=fail-thresholds duration=500ms'),
          slack_channels: 'team',
          wait_for_results: 'false',
        },
        { name: 'async' },
      ),
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    await waitFor(() => recorder.methods().includes('chat.update'));
    expect(recorder.methods()[0]).toBe('chat.postMessage');
    const update = recorder.calls.find((c) => c.method === 'chat.update');
    expect(update?.params.text).toContain('`async` in namespace `test` has failed');
    expect(recorder.calls.find((c) => c.method === 'upload')?.uploaded).toContain(
      "thresholds on metrics 'http_req_duration' have been crossed",
    );
  }, 30_000);

  test("a run that never starts posts didn't start successfully with the output", async () => {
    recorder.calls.length = 0;
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script: doubleScript('mode=exception'), slack_channels: 'team' },
        { name: 'nostart' },
      ),
    );
    expect(res.status).toBe(400);
    await waitFor(() => recorder.methods().includes('files.completeUploadExternal'));
    expect(recorder.calls[0]?.params.text).toContain("didn't start successfully");
    expect(recorder.calls.find((c) => c.method === 'upload')?.uploaded).toContain('SyntaxError');
  }, 30_000);
});
