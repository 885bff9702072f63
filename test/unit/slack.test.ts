// The Slack notifier against the local recorder: call order, texts, threads, uploads, partial
// failures, timeouts, and that the token never reaches a log line.

import { describe, expect, test } from 'bun:test';
import { createNoopNotifier } from '../../src/notify/noop.ts';
import { createSlackNotifier, formatMessage } from '../../src/notify/slack.ts';
import { createCapturingLogger } from '../helpers/daemon.ts';
import { channelId, startSlackRecorder } from '../helpers/slack-recorder.ts';

const TOKEN = 'xoxb-test-token-never-logged';
const target = (channels: string[], context = '') => ({
  channels,
  name: 'podinfo',
  namespace: 'test',
  context,
});

function setup(opts: Parameters<typeof startSlackRecorder>[0] = {}, timeoutMs = 2000) {
  const recorder = startSlackRecorder(opts);
  const { logger, lines } = createCapturingLogger();
  const notifier = createSlackNotifier({
    token: TOKEN,
    apiUrl: recorder.apiUrl,
    logger,
    timeoutMs,
    retries: 0,
  });
  return { recorder, notifier, lines };
}

describe('slack notifier', () => {
  test('a passing run: start message, upload in its thread, update to succeeded', async () => {
    const { recorder, notifier, lines } = setup();
    try {
      const t = target(
        ['test', 'test2'],
        'extra context\nCloud URL: <https://app.k6.io/runs/1157843>',
      );
      const threads = await notifier.started(t);
      expect([...threads.threads.keys()].sort()).toEqual(['CTEST', 'CTEST2']);
      await notifier.finished(t, threads, 'succeeded', 'k6 output\n');
      const posts = recorder.calls.filter((c) => c.method === 'chat.postMessage');
      expect(posts).toHaveLength(2);
      const start = posts[0]?.params as { text: string; blocks: unknown[] };
      expect(start.text).toBe(
        ':warning: Load testing of `podinfo` in namespace `test` has started',
      );
      expect(start.blocks).toEqual([
        { type: 'section', text: { type: 'mrkdwn', text: start.text } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: t.context }] },
      ]);
      const forChannel = (id: string) =>
        recorder.calls
          .filter(
            (c) => c.params.channel === id || c.params.channel_id === id || c.method === 'upload',
          )
          .map((c) => c.method);
      expect(forChannel('CTEST')).toContain('files.completeUploadExternal');
      const order = recorder.methods().filter((m) => m !== 'chat.postMessage');
      // per thread: getUploadURLExternal → upload → completeUploadExternal → chat.update
      expect(order.filter((m) => m === 'chat.update')).toHaveLength(2);
      const firstUpdate = order.indexOf('chat.update');
      expect(order.slice(0, firstUpdate)).toContain('files.completeUploadExternal');
      const complete = recorder.calls.find((c) => c.method === 'files.completeUploadExternal');
      expect(complete?.params.thread_ts).toBe(
        threads.threads.get(String(complete?.params.channel_id)),
      );
      expect(recorder.calls.filter((c) => c.method === 'upload').map((c) => c.uploaded)).toEqual([
        'k6 output\n',
        'k6 output\n',
      ]);
      const update = recorder.calls.find((c) => c.method === 'chat.update');
      expect(update?.params.text).toBe(
        ':large_green_circle: Load testing of `podinfo` in namespace `test` has succeeded',
      );
      expect(
        recorder.calls.every((c) => c.method === 'upload' || c.authorization === `Bearer ${TOKEN}`),
      ).toBe(true);
      expect(lines.join('')).not.toContain(TOKEN);
    } finally {
      recorder.stop();
    }
  });

  test('a failing run updates to has failed; no context → no context block', async () => {
    const { recorder, notifier } = setup();
    try {
      const t = target(['alerts']);
      await notifier.finished(t, await notifier.started(t), 'failed', 'boom\n');
      const start = recorder.calls[0]?.params as { blocks: unknown[] };
      expect(start.blocks).toHaveLength(1);
      const update = recorder.calls.find((c) => c.method === 'chat.update');
      expect(update?.params.text).toBe(
        ':red_circle: Load testing of `podinfo` in namespace `test` has failed',
      );
      expect(update?.params.ts).toBe('1700000000.000001');
    } finally {
      recorder.stop();
    }
  });

  test("didn't start: a new message with the output in its thread", async () => {
    const { recorder, notifier } = setup();
    try {
      await notifier.didNotStart(target(['alerts']), 'failed to run (k6 error)');
      expect(recorder.methods()).toEqual([
        'chat.postMessage',
        'files.getUploadURLExternal',
        'upload',
        'files.completeUploadExternal',
      ]);
      expect(recorder.calls[0]?.params.text).toBe(
        ":red_circle: Load testing of `podinfo` in namespace `test` didn't start successfully",
      );
      expect(recorder.calls[2]?.uploaded).toBe('failed to run (k6 error)');
    } finally {
      recorder.stop();
    }
  });

  test('one failing channel does not stop the others, and is logged', async () => {
    const { recorder, notifier, lines } = setup({ failChannels: ['bad'] });
    try {
      const t = target(['good', 'bad', 'other']);
      const threads = await notifier.started(t);
      expect([...threads.threads.keys()].sort()).toEqual([channelId('good'), channelId('other')]);
      await notifier.finished(t, threads, 'succeeded', 'out');
      expect(recorder.calls.filter((c) => c.method === 'chat.update')).toHaveLength(2);
      expect(lines.join('')).toContain('error sending message to bad');
      expect(lines.join('')).toContain('channel_not_found');
    } finally {
      recorder.stop();
    }
  });

  test('empty output still uploads a file (Slack refuses empty files)', async () => {
    const { recorder, notifier } = setup();
    try {
      const t = target(['c']);
      await notifier.finished(t, await notifier.started(t), 'failed', '');
      expect(recorder.calls.find((c) => c.method === 'upload')?.uploaded).toBe(
        '(k6 printed nothing)\n',
      );
    } finally {
      recorder.stop();
    }
  });

  test('a hanging Slack costs at most the timeout, never throws', async () => {
    const { recorder, notifier, lines } = setup({ hang: true }, 300);
    try {
      const t0 = performance.now();
      const threads = await notifier.started(target(['c']));
      expect(threads.threads.size).toBe(0);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(lines.join('')).toContain('error sending message to c');
    } finally {
      recorder.stop();
    }
  }, 10_000);

  test('no channels: no calls', async () => {
    const { recorder, notifier } = setup();
    try {
      const t = target([]);
      await notifier.finished(t, await notifier.started(t), 'succeeded', 'x');
      await notifier.didNotStart(t, 'x');
      expect(recorder.calls).toEqual([]);
    } finally {
      recorder.stop();
    }
  });

  test('the no-op notifier sends nothing and says so at debug', async () => {
    const { logger, records } = createCapturingLogger();
    const noop = createNoopNotifier(logger);
    const threads = await noop.started(target(['c']));
    expect(threads.threads.size).toBe(0);
    expect(records.some((r) => r.msg.startsWith("Slack disabled. Would've sent"))).toBe(true);
  });

  test('message texts are the original ones', () => {
    const t = { name: 'test-name', namespace: 'test-space' };
    expect(formatMessage(t, 'has started')).toBe(
      ':warning: Load testing of `test-name` in namespace `test-space` has started',
    );
    expect(formatMessage(t, "didn't start successfully")).toBe(
      ":red_circle: Load testing of `test-name` in namespace `test-space` didn't start successfully",
    );
  });
});
