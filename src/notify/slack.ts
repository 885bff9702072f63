// Slack notifications through @slack/web-api: the original's messages and k6-results.txt
// uploads in each thread, plus a text fallback and a final update for async runs too.
// Every call is bounded by a short timeout and a small retry budget; errors are logged (never
// the token) and swallowed, so Slack never changes or delays a verdict.

import { LogLevel, WebClient } from '@slack/web-api';
import type { Logger } from '../log.ts';
import type { Notifier, NotifyTarget, NotifyThreads } from './notifier.ts';

export interface SlackNotifierOptions {
  token: string;
  /** Base URL ending in `/api/` (tests point it at a local server). */
  apiUrl?: string;
  logger: Logger;
  timeoutMs?: number;
  retries?: number;
}

export const RESULTS_FILE_NAME = 'k6-results.txt';
const EMPTY_OUTPUT = '(k6 printed nothing)\n';

type Status = 'has started' | 'has succeeded' | 'has failed' | "didn't start successfully";
const EMOJI: Record<Status, string> = {
  'has started': ':warning:',
  'has succeeded': ':large_green_circle:',
  'has failed': ':red_circle:',
  "didn't start successfully": ':red_circle:',
};

/** The original's message text: `<emoji> Load testing of `name` in namespace `ns` <status>`. */
export function formatMessage(target: Pick<NotifyTarget, 'name' | 'namespace'>, status: Status) {
  return `${EMOJI[status]} Load testing of \`${target.name}\` in namespace \`${target.namespace}\` ${status}`;
}

function blocksFor(text: string, context: string) {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    ...(context ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: context }] }] : []),
  ];
}

function slackError(err: unknown): string {
  const data = (err as { data?: { error?: string } }).data;
  return data?.error ?? (err instanceof Error ? err.message : String(err));
}

export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const logger = opts.logger.child({ component: 'slack' });
  const client = new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    timeout: opts.timeoutMs ?? 5000,
    retryConfig: { retries: opts.retries ?? 1, factor: 1, minTimeout: 200, maxTimeout: 500 },
    rejectRateLimitedCalls: true,
    logger: {
      debug: (...msg: unknown[]) => logger.debug(msg.map(String).join(' ')),
      info: (...msg: unknown[]) => logger.debug(msg.map(String).join(' ')),
      warn: (...msg: unknown[]) => logger.warn(msg.map(String).join(' ')),
      error: (...msg: unknown[]) => logger.error(msg.map(String).join(' ')),
      setLevel: () => {},
      getLevel: () => LogLevel.DEBUG,
      setName: () => {},
    },
  });

  async function post(channel: string, text: string, context: string) {
    try {
      const res = await client.chat.postMessage({
        channel,
        text,
        blocks: blocksFor(text, context),
      });
      if (res.channel && res.ts) return { channel: res.channel, ts: res.ts };
    } catch (err) {
      logger.error(`error sending message to ${channel}`, { channel, error: slackError(err) });
    }
    return undefined;
  }

  async function upload(channelId: string, ts: string, output: string) {
    try {
      await client.filesUploadV2({
        channel_id: channelId,
        thread_ts: ts,
        filename: RESULTS_FILE_NAME,
        title: RESULTS_FILE_NAME,
        content: output === '' ? EMPTY_OUTPUT : output,
      });
    } catch (err) {
      logger.error(
        `error while uploading output ${RESULTS_FILE_NAME} in slack channel ${channelId}`,
        {
          channel: channelId,
          error: slackError(err),
        },
      );
    }
  }

  return {
    async started(target) {
      const threads = new Map<string, string>();
      const text = formatMessage(target, 'has started');
      // Channels are independent: one failing channel does not stop the others.
      const posted = await Promise.all(target.channels.map((c) => post(c, text, target.context)));
      for (const p of posted) if (p) threads.set(p.channel, p.ts);
      return { threads };
    },
    async finished(target, threads: NotifyThreads, outcome, output) {
      const text = formatMessage(target, outcome === 'succeeded' ? 'has succeeded' : 'has failed');
      await Promise.all(
        [...threads.threads].map(async ([channel, ts]) => {
          await upload(channel, ts, output);
          try {
            await client.chat.update({
              channel,
              ts,
              text,
              blocks: blocksFor(text, target.context),
            });
          } catch (err) {
            logger.error(`error updating message ${ts} in channel ${channel}`, {
              channel,
              error: slackError(err),
            });
          }
        }),
      );
    },
    async didNotStart(target, output) {
      const text = formatMessage(target, "didn't start successfully");
      await Promise.all(
        target.channels.map(async (c) => {
          const p = await post(c, text, target.context);
          if (p) await upload(p.channel, p.ts, output);
        }),
      );
    },
  };
}
