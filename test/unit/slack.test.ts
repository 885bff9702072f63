// The Slack notifier (@slack/web-api) against the local Slack recorder: the calls in order for
// each event, texts, blocks and fallback text, threads, uploads, partial failures, rate limits,
// hanging Slack within the budget, and that the token travels in the header and never in a log.

import { describeComparison } from '../../src/k6/compare.ts';
import { describe, expect, test } from 'bun:test';
import type { NotifyTarget } from '../../src/notify/notifier.ts';
import { createNoopNotifier } from '../../src/notify/noop.ts';
import {
  checkSlackToken,
  createSlackNotifier,
  formatMessage,
  type SlackNotifierOptions,
} from '../../src/notify/slack.ts';
import { createCapturingLogger } from '../helpers/daemon.ts';
import {
  startSlackRecorder,
  type SlackRecorder,
  type SlackRecorderOptions,
} from '../helpers/slack-recorder.ts';

const TOKEN = 'xoxb-test-token-never-logged';
const STARTED = ':warning: Load testing of `podinfo` in namespace `test` has started';
const SUCCEEDED =
  ':large_green_circle: Load testing of `podinfo` in namespace `test` has succeeded: all thresholds passed (1m 5s, phase Progressing)';
const FAILED =
  ':red_circle: Load testing of `podinfo` in namespace `test` has failed: thresholds crossed (12s, phase Progressing)';
const OK = {
  verdict: 'succeeded',
  reason: 'all thresholds passed',
  durationMs: 65_000,
  phase: 'Progressing',
} as const;
const BAD = {
  verdict: 'failed',
  reason: 'thresholds crossed',
  durationMs: 12_400,
  phase: 'Progressing',
} as const;
const DID_NOT_START =
  ":red_circle: Load testing of `podinfo` in namespace `test` didn't start successfully";
const CLOUD_CONTEXT = 'Cluster: `dev`\nCloud URL: <https://app.k6.io/runs/1157843>';
const FULL_FLOW = [
  'chat.postMessage',
  'files.getUploadURLExternal',
  'upload',
  'files.completeUploadExternal',
  'chat.update',
];

const target = (channels: string[], context = '', cloudUrl?: string): NotifyTarget => ({
  channels,
  name: 'podinfo',
  namespace: 'test',
  context,
  ...(cloudUrl ? { cloudUrl } : {}),
});

type Notifier = ReturnType<typeof createSlackNotifier>;
interface Slack {
  recorder: SlackRecorder;
  notifier: Notifier;
  records: ReturnType<typeof createCapturingLogger>['records'];
  lines: string[];
}

// Starts a recorder and a notifier on it (logging at trace, so the SDK's own lines are seen
// too), runs the test body, and always stops the server.
async function withSlack(
  body: (slack: Slack) => Promise<void>,
  recorderOpts: SlackRecorderOptions = {},
  notifierOpts: Partial<SlackNotifierOptions> = {},
) {
  const recorder = startSlackRecorder({ token: TOKEN, ...recorderOpts });
  const { logger, records, lines } = createCapturingLogger('trace');
  const notifier = createSlackNotifier({
    token: TOKEN,
    apiUrl: recorder.apiUrl,
    logger,
    timeoutMs: 2000,
    retries: 0,
    ...notifierOpts,
  });
  try {
    await body({ recorder, notifier, records, lines });
  } finally {
    await recorder.stop();
  }
}

const errorsOf = (records: Slack['records']) => records.filter((r) => r.level === 'error');
const callsFor = (recorder: SlackRecorder, method: string) =>
  recorder.calls.filter((c) => c.method === method);

describe('slack notifier: the calls for each event', () => {
  test('a passing run: start message, upload into its thread, update to succeeded', async () => {
    await withSlack(async ({ recorder, notifier, records }) => {
      const t = target(['team'], 'Cluster: `dev`', 'https://app.k6.io/runs/1157843');
      const threads = await notifier.started(t);
      expect([...threads.threads]).toEqual([['CTEAM', '1700000000.000001']]);
      await notifier.finished(t, threads, OK, 'k6 output\n');

      expect(recorder.methods()).toEqual(FULL_FLOW);
      const [post, getUrl, upload, complete, update] = recorder.calls;
      expect(post?.params).toEqual({
        channel: 'team',
        text: STARTED,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: STARTED } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: CLOUD_CONTEXT }] },
        ],
      });
      expect(getUrl?.params).toEqual({ filename: 'k6-results.txt', length: '10' });
      const fileId = upload?.params.fileId;
      expect(upload?.uploaded).toBe('k6 output\n');
      expect(complete?.params).toEqual({
        files: [{ id: fileId, title: 'k6-results.txt' }],
        channel_id: 'CTEAM',
        thread_ts: '1700000000.000001',
      });
      expect(update?.params).toEqual({
        channel: 'CTEAM',
        ts: '1700000000.000001',
        text: SUCCEEDED,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: SUCCEEDED } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: CLOUD_CONTEXT }] },
        ],
      });
      expect(errorsOf(records)).toEqual([]);
      expect(records.filter((r) => r.level === 'warn')).toEqual([]);
    });
  }, 10_000);

  test('a failing run: the same flow, updated to has failed', async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target(['alerts']);
      await notifier.finished(t, await notifier.started(t), BAD, 'boom\n');
      expect(recorder.methods()).toEqual(FULL_FLOW);
      expect(recorder.calls[4]?.params.text).toBe(FAILED);
      expect(recorder.calls[4]?.params.ts).toBe(recorder.calls[3]?.params.thread_ts);
    });
  }, 10_000);

  test('a run compared with its baseline: every rule with its two values under the reason', async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target(['alerts']);
      const comparison = describeComparison({
        baseline: 'primary',
        baselineRunId: 'b1',
        missing: null,
        failed: ['http_req_duration p(95) 231ms > 1.1 × baseline 190ms (primary)'],
        rules: [
          {
            rule: 'http_req_duration.p(95) <= 1.10 * baseline',
            metric: 'http_req_duration',
            stat: 'p(95)',
            op: '<=',
            factor: 1.1,
            offset: 0,
            value: 231,
            baseline: 190,
            limit: 209,
            passed: false,
          },
          {
            rule: 'http_req_failed.rate <= baseline + 0.01',
            metric: 'http_req_failed',
            stat: 'rate',
            op: '<=',
            factor: 1,
            offset: 0.01,
            value: 0,
            baseline: 0,
            limit: 0.01,
            passed: true,
          },
        ],
      });
      const reason =
        'worse than the baseline: http_req_duration p(95) 231ms > 1.1 × baseline 190ms (primary)';
      await notifier.finished(t, await notifier.started(t), { ...BAD, reason, comparison }, 'x\n');
      expect(recorder.calls[4]?.params.text).toBe(
        ':red_circle: Load testing of `podinfo` in namespace `test` has failed: ' +
          // Slack's own escapes for < > (it shows them as typed)
          `${reason.replace('>', '&gt;')} (12s, phase Progressing)\n` +
          '✗ http_req_duration p(95) 231ms, primary baseline 190ms (limit &lt;= 209ms)\n' +
          '✓ http_req_failed rate 0, primary baseline 0 (limit &lt;= 0.01)',
      );
    });
  }, 10_000);

  test('an async run: only the start message at first, the rest when finished is called', async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target(['team', 'CEXISTING']);
      const threads = await notifier.started(t);
      expect(recorder.methods()).toEqual(['chat.postMessage', 'chat.postMessage']);
      expect(new Set(threads.threads.keys())).toEqual(new Set(['CTEAM', 'CEXISTING']));

      await notifier.finished(t, threads, OK, 'later\n');
      for (const [channel, ts] of threads.threads) {
        const complete = callsFor(recorder, 'files.completeUploadExternal').find(
          (c) => c.params.channel_id === channel,
        );
        expect(complete?.params.thread_ts).toBe(ts);
        const updates = callsFor(recorder, 'chat.update').filter(
          (c) => c.params.channel === channel,
        );
        expect(updates.map((c) => [c.params.ts, c.params.text])).toEqual([[ts, SUCCEEDED]]);
      }
      expect(callsFor(recorder, 'upload').map((c) => c.uploaded)).toEqual(['later\n', 'later\n']);
    });
  }, 10_000);

  test("didn't start: a new message with the output uploaded into its thread, no update", async () => {
    await withSlack(async ({ recorder, notifier }) => {
      await notifier.didNotStart(target(['alerts'], 'Cluster: `dev`'), 'SyntaxError: x\n');
      expect(recorder.methods()).toEqual(FULL_FLOW.slice(0, 4));
      const [post, , upload, complete] = recorder.calls;
      expect(post?.params.text).toBe(DID_NOT_START);
      expect(post?.params.blocks).toEqual([
        { type: 'section', text: { type: 'mrkdwn', text: DID_NOT_START } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'Cluster: `dev`' }] },
      ]);
      expect(upload?.uploaded).toBe('SyntaxError: x\n');
      expect(complete?.params.channel_id).toBe('CALERTS');
      expect(complete?.params.thread_ts).toBe('1700000000.000001');
    });
  }, 10_000);

  test('no channels: no calls at all', async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target([]);
      const threads = await notifier.started(t);
      expect(threads.threads.size).toBe(0);
      await notifier.finished(t, threads, OK, 'x');
      await notifier.didNotStart(t, 'x');
      expect(recorder.calls).toEqual([]);
    });
  }, 10_000);

  test('a channel named twice gets one message', async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const threads = await notifier.started(target(['team', 'team']));
      expect(threads.threads.size).toBe(1);
      expect(recorder.methods()).toEqual(['chat.postMessage']);
    });
  }, 10_000);

  test('empty output uploads a placeholder line (Slack refuses a 0-byte file)', async () => {
    await withSlack(async ({ recorder, notifier, records }) => {
      const t = target(['c']);
      await notifier.finished(t, await notifier.started(t), BAD, '');
      expect(recorder.methods()).toEqual(FULL_FLOW);
      expect(callsFor(recorder, 'upload')[0]?.uploaded).toBe('(k6 printed nothing)\n');
      expect(errorsOf(records)).toEqual([]);
    });
  }, 10_000);
});

describe('slack notifier: message content', () => {
  test.each([
    ['no context: no context block', '', undefined, ''],
    ['notification_context only', 'Cluster: `dev`', undefined, 'Cluster: `dev`'],
    ['Cloud URL passed through', 'Cluster: `dev`', 'https://app.k6.io/runs/1157843', CLOUD_CONTEXT],
    [
      'mentions neutralised',
      'hey <!channel> <!here> <!everyone> <!subteam^S1> <@U123>',
      undefined,
      'hey &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S1&gt; &lt;@U123&gt;',
    ],
    [
      'a link label cannot hide its URL',
      'see <https://evil.example|https://grafana.example> & more',
      undefined,
      'see &lt;https://evil.example|https://grafana.example&gt; &amp; more',
    ],
  ])(
    '%s',
    async (_name, given, cloudUrl, context) => {
      await withSlack(async ({ recorder, notifier }) => {
        const t = target(['team'], given, cloudUrl);
        await notifier.finished(t, await notifier.started(t), OK, 'out');
        for (const call of [
          ...callsFor(recorder, 'chat.postMessage'),
          ...callsFor(recorder, 'chat.update'),
        ]) {
          const blocks = call.params.blocks as unknown[];
          expect(blocks).toHaveLength(context ? 2 : 1);
          if (context) {
            expect(blocks[1]).toEqual({
              type: 'context',
              elements: [{ type: 'mrkdwn', text: context }],
            });
          }
        }
      });
    },
    10_000,
  );

  test("a reason from k6's output cannot mention anyone or hide a link (#19 finding 4)", async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target(['team']);
      const reason =
        'thresholds crossed: <!channel> see <https://evil.example/login|View k6 report> & x';
      await notifier.finished(t, await notifier.started(t), { ...BAD, reason }, 'out');
      const text = String(callsFor(recorder, 'chat.update')[0]?.params.text);
      expect(text).toContain(
        'thresholds crossed: &lt;!channel&gt; see &lt;https://evil.example/login|View k6 report&gt; &amp; x (',
      );
      expect(text).not.toContain('<!channel>');
    });
  }, 10_000);

  test('every message carries a plain text fallback equal to its section text', async () => {
    await withSlack(async ({ recorder, notifier, lines }) => {
      const t = target(['team']);
      await notifier.finished(t, await notifier.started(t), BAD, 'out');
      await notifier.didNotStart(t, 'out');
      const messages = recorder.calls.filter((c) => c.method.startsWith('chat.'));
      expect(messages.map((c) => c.params.text)).toEqual([STARTED, FAILED, DID_NOT_START]);
      for (const c of messages) {
        const section = (c.params.blocks as { text: { text: string } }[])[0];
        expect(section?.text.text).toBe(String(c.params.text));
      }
      // The SDK warns when a message has blocks but no top-level text.
      expect(lines.join('')).not.toContain('top-level `text` argument is missing');
    });
  }, 10_000);

  test('message texts are the original ones', () => {
    const t = { name: 'test-name', namespace: 'test-space' };
    expect(formatMessage(t, 'has started')).toBe(
      ':warning: Load testing of `test-name` in namespace `test-space` has started',
    );
    expect(formatMessage(t, 'has succeeded')).toBe(
      ':large_green_circle: Load testing of `test-name` in namespace `test-space` has succeeded',
    );
    expect(formatMessage(t, 'has failed')).toBe(
      ':red_circle: Load testing of `test-name` in namespace `test-space` has failed',
    );
    expect(formatMessage(t, "didn't start successfully")).toBe(
      ":red_circle: Load testing of `test-name` in namespace `test-space` didn't start successfully",
    );
  });
});

describe('slack notifier: failures are logged and swallowed', () => {
  test('one failing channel does not stop the others; the error names the channel', async () => {
    await withSlack(
      async ({ recorder, notifier, records }) => {
        const t = target(['good', 'bad', 'other']);
        const threads = await notifier.started(t);
        expect(new Set(threads.threads.keys())).toEqual(new Set(['CGOOD', 'COTHER']));
        await notifier.finished(t, threads, OK, 'out');
        for (const id of ['CGOOD', 'COTHER']) {
          expect(
            callsFor(recorder, 'files.completeUploadExternal').map((c) => c.params.channel_id),
          ).toContain(id);
          expect(callsFor(recorder, 'chat.update').map((c) => c.params.channel)).toContain(id);
        }
        expect(recorder.calls.filter((c) => c.params.channel === 'bad')).toHaveLength(1);
        expect(errorsOf(records)).toEqual([
          expect.objectContaining({
            msg: 'error sending message to bad: channel_not_found',
            channel: 'bad',
            error: 'channel_not_found',
            code: 'slack_webapi_platform_error',
          }),
        ]);
      },
      { failChannels: ['bad'] },
    );
  }, 10_000);

  test('a failed upload still lets the message be updated', async () => {
    await withSlack(
      async ({ recorder, notifier, records }) => {
        const t = target(['team']);
        await notifier.finished(t, await notifier.started(t), OK, 'out');
        expect(recorder.methods()).toEqual(FULL_FLOW);
        expect(errorsOf(records)).toEqual([
          expect.objectContaining({
            msg: 'error while uploading output k6-results.txt in slack channel CTEAM: internal_error',
            channel: 'CTEAM',
            error: 'internal_error',
          }),
        ]);
      },
      { failMethods: ['files.completeUploadExternal'] },
    );
  }, 10_000);

  test('a failed update is logged with the ts and channel', async () => {
    await withSlack(
      async ({ notifier, records }) => {
        const t = target(['team']);
        await notifier.finished(t, await notifier.started(t), BAD, 'out');
        expect(errorsOf(records)).toEqual([
          expect.objectContaining({
            msg: 'error updating message 1700000000.000001 in channel CTEAM: internal_error',
            channel: 'CTEAM',
          }),
        ]);
      },
      { failMethods: ['chat.update'] },
    );
  }, 10_000);

  test('rate-limited once: waits Retry-After when it fits in the budget, then succeeds', async () => {
    await withSlack(
      async ({ recorder, notifier, records }) => {
        const threads = await notifier.started(target(['team']));
        expect(threads.threads.size).toBe(1);
        expect(recorder.methods()).toEqual(['chat.postMessage', 'chat.postMessage']);
        expect(records.some((r) => r.level === 'warn' && r.msg.includes('rate-limited'))).toBe(
          true,
        );
        expect(errorsOf(records)).toEqual([]);
      },
      { rateLimitOnce: ['chat.postMessage'] },
    );
  }, 10_000);

  test('rate-limited beyond the budget: gives up at once and logs ratelimited', async () => {
    await withSlack(
      async ({ notifier, records }) => {
        const t0 = performance.now();
        const threads = await notifier.started(target(['team']));
        expect(performance.now() - t0).toBeLessThan(900);
        expect(threads.threads.size).toBe(0);
        expect(errorsOf(records)).toEqual([
          expect.objectContaining({ channel: 'team', error: 'ratelimited', retryAfterSeconds: 1 }),
        ]);
      },
      { rateLimitOnce: ['chat.postMessage'] },
      { budgetMs: 800 },
    );
  }, 10_000);

  test('a hanging Slack: every method returns within its budget, never throws', async () => {
    const budgetMs = 1000;
    await withSlack(
      async ({ recorder, notifier, records }) => {
        const t = target(['team', 'other']);
        const timed = async (run: () => Promise<unknown>) => {
          const t0 = performance.now();
          await run();
          return performance.now() - t0;
        };
        // One attempt plus one retry of 300 ms each, then the error.
        expect(await timed(() => notifier.started(t))).toBeLessThan(budgetMs + 500);
        const threads = { threads: new Map([['CTEAM', '1700000000.000001']]) };
        expect(await timed(() => notifier.finished(t, threads, BAD, 'out'))).toBeLessThan(
          budgetMs + 500,
        );
        expect(await timed(() => notifier.didNotStart(t, 'out'))).toBeLessThan(budgetMs + 500);
        expect(recorder.methods().filter((m) => m === 'chat.postMessage').length).toBe(8);
        const errors = errorsOf(records);
        expect(errors.map((r) => r.channel).sort()).toEqual(
          ['team', 'other', 'CTEAM', 'CTEAM', 'team', 'other'].sort(),
        );
        expect(errors.find((r) => r.channel === 'CTEAM')?.msg).toStartWith(
          'error while uploading output k6-results.txt in slack channel CTEAM',
        );
      },
      { hang: true },
      { timeoutMs: 300, retries: 1, budgetMs },
    );
  }, 15_000);

  test('a hanging upload URL costs its timeouts, and the message is still updated', async () => {
    await withSlack(
      async ({ recorder, notifier, records }) => {
        const t = target(['team']);
        await notifier.finished(t, await notifier.started(t), OK, 'out');
        expect(recorder.methods()).toEqual([
          'chat.postMessage',
          'files.getUploadURLExternal',
          'upload',
          'upload',
          'chat.update',
        ]);
        expect(errorsOf(records).map((r) => r.channel)).toEqual(['CTEAM']);
      },
      { hang: ['upload'] },
      { timeoutMs: 200, retries: 1, budgetMs: 3000 },
    );
  }, 10_000);
});

describe('slack notifier: logging', () => {
  test('the SDK writes nothing to the console; its lines go through the daemon logger', async () => {
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = methods.map((m) => console[m]);
    const printed: unknown[][] = [];
    for (const m of methods) console[m] = (...args: unknown[]) => void printed.push(args);
    try {
      await withSlack(
        async ({ notifier, records }) => {
          await notifier.started(target(['team']));
          expect(records.some((r) => r.component === 'slack-sdk' && r.level === 'warn')).toBe(true);
        },
        { hang: true },
        { timeoutMs: 100, retries: 1, budgetMs: 1000 },
      );
    } finally {
      methods.forEach((m, i) => (console[m] = saved[i] as (typeof console)[typeof m]));
    }
    expect(printed).toEqual([]);
  }, 10_000);
});

describe('slack notifier: the token', () => {
  test('travels as a bearer header on every call (upload URL included), never in a log line', async () => {
    await withSlack(
      async ({ recorder, notifier, lines }) => {
        const t = target(['team', 'bad']);
        await notifier.finished(t, await notifier.started(t), OK, 'out');
        await notifier.didNotStart(t, 'out');
        expect(recorder.calls.length).toBeGreaterThan(5);
        for (const c of recorder.calls) expect(c.authorization).toBe(`Bearer ${TOKEN}`);
        expect(lines.some((l) => l.includes('"level":"trace"'))).toBe(true);
        expect(lines.join('')).not.toContain(TOKEN);
      },
      { failChannels: ['bad'] },
    );
  }, 10_000);

  test('a wrong token: invalid_auth is logged, the token is not', async () => {
    await withSlack(
      async ({ notifier, records, lines }) => {
        await notifier.started(target(['team']));
        expect(errorsOf(records)).toEqual([
          expect.objectContaining({ channel: 'team', error: 'invalid_auth' }),
        ]);
        expect(lines.join('')).not.toContain(TOKEN);
      },
      { token: 'xoxb-the-right-one' },
    );
  }, 10_000);
});

describe('no-op notifier', () => {
  test('sends nothing, returns no threads, and says what it would have sent at debug', async () => {
    const { logger, records } = createCapturingLogger();
    const noop = createNoopNotifier(logger);
    const t = target(['team']);
    const threads = await noop.started(t);
    expect(threads.threads.size).toBe(0);
    await noop.finished(t, threads, OK, 'out');
    await noop.didNotStart(t, 'out');
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      ['debug', "Slack disabled. Would've sent the following message"],
      ['debug', "Slack disabled. Would've uploaded file named: k6-results.txt"],
      ['debug', "Slack disabled. Would've updated messages"],
      ['debug', "Slack disabled. Would've sent the following message"],
      ['debug', "Slack disabled. Would've uploaded file named: k6-results.txt"],
    ]);
  }, 5_000);

  test('says nothing when the run names no channels', async () => {
    const { logger, records } = createCapturingLogger();
    const noop = createNoopNotifier(logger);
    const t = target([]);
    await noop.finished(t, await noop.started(t), BAD, '');
    await noop.didNotStart(t, '');
    expect(records).toEqual([]);
  }, 5_000);
});

describe('the uploaded results', () => {
  test("k6's logo is left out of the file; the execution description and summary stay", async () => {
    await withSlack(async ({ recorder, notifier }) => {
      const t = target(['team']);
      const output = [
        '',
        '         /\\      Grafana   /‾‾/  ',
        '    /\\  /  \\     |\\  __   /  /   ',
        '   /  \\/    \\    | |/ /  /   ‾‾\\ ',
        '',
        '     execution: local',
        '        script: /tmp/run/test.js',
        '        output: -',
        '',
        'http_reqs......................: 180 4.36938/s',
        '',
      ].join('\n');
      await notifier.finished(t, await notifier.started(t), OK, output);
      const uploaded = recorder.calls.find((c) => c.uploaded !== undefined)?.uploaded as string;
      expect(uploaded.startsWith('     execution: local\n')).toBe(true);
      expect(uploaded).toContain('http_reqs');
      expect(uploaded).not.toContain('Grafana');
    });
  }, 10_000);
});

describe('the token is checked at start (auth.test)', () => {
  test("a good token: one info line naming the bot; a refused one: an error naming Slack's answer, no token in it", async () => {
    const recorder = startSlackRecorder({ token: 'xoxb-good' });
    try {
      for (const [token, ok] of [
        ['xoxb-good', true],
        ['xoxb-bad-secret', false],
      ] as const) {
        const { logger, records } = createCapturingLogger();
        const accepted = await checkSlackToken({ token, apiUrl: recorder.apiUrl, logger });
        expect(accepted).toBe(ok);
        const line = records.find((r) => r.msg.startsWith('slack'))!;
        if (ok) expect(line).toMatchObject({ level: 'info', user: 'k6gate', team: 'k6gate test' });
        else expect(line).toMatchObject({ level: 'error', error: 'invalid_auth' });
        expect(JSON.stringify(records)).not.toContain('xoxb-bad-secret');
      }
    } finally {
      await recorder.stop();
    }
  }, 10_000);
});
