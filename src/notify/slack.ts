// Slack notifications through @slack/web-api: the original's messages (plus a `text` fallback)
// and k6-results.txt uploads in each thread, for waited and async runs alike. Each HTTP attempt
// has a short timeout and a small retry budget, and each notifier call has a wall-clock budget
// for all its requests together. Every Slack error is logged at error level with the channel and
// Slack's error code (never the token) and swallowed: Slack never changes or delays a verdict.

import {
  LogLevel,
  WebClient,
  type FetchFunction,
  type Logger as SlackLogger,
} from '@slack/web-api';
import type { Logger, LogLevel as DaemonLogLevel } from '../core/log.ts';
import { dropBanner } from '../k6/output.ts';
import {
  RESULTS_FILE_NAME,
  type Notifier,
  type RunOutcome,
  type NotifyTarget,
  type NotifyThreads,
} from './notifier.ts';

export interface SlackNotifierOptions {
  token: string;
  /** Base URL ending in `/api/` (tests point it at a local server). Default: Slack's. */
  apiUrl?: string;
  logger: Logger;
  /** Timeout of one HTTP attempt. */
  timeoutMs?: number;
  /** Retries of one request after a network error, a timeout or a 5xx (never after `ok:false`). */
  retries?: number;
  /** Wall-clock cap on one `started`/`finished`/`didNotStart` call, all channels together
   * (it returns within this plus one retry delay). Default: 3 × timeoutMs. */
  budgetMs?: number;
  /** Channels (names without '#', or IDs) runs may post to; empty allows any. */
  allowedChannels?: readonly string[];
}

/** Slack refuses empty files (`missing_argument`), so an empty output uploads this line. */
const EMPTY_OUTPUT_PLACEHOLDER = '(k6 printed nothing)\n';
const DEFAULT_SLACK_TIMEOUT_MS = 5_000;
const DEFAULT_SLACK_RETRIES = 1;
const RETRY_DELAY_MS = 200;

export type MessageStatus =
  'has started' | 'has succeeded' | 'has failed' | "didn't start successfully";

const EMOJI: Record<MessageStatus, string> = {
  'has started': ':warning:',
  'has succeeded': ':large_green_circle:',
  'has failed': ':red_circle:',
  "didn't start successfully": ':red_circle:',
};

/** The original's text: `<emoji> Load testing of `name` in namespace `ns` <status>`. */
export function formatMessage(
  target: Pick<NotifyTarget, 'name' | 'namespace'>,
  status: MessageStatus,
): string {
  return `${EMOJI[status]} Load testing of \`${target.name}\` in namespace \`${target.namespace}\` ${status}`;
}

/** Slack's three control characters escaped, so text from a caller or from k6's output can
 * mention nobody (<!channel>, <@U123>) and hide no link behind a label. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "thresholds crossed (2m 5s, phase Progressing)": the end of the final message; the reason
 * may quote k6's output, so it is escaped. */
function describeOutcome(o: RunOutcome): string {
  const s = Math.round(o.durationMs / 1000);
  const took = s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
  const rules = (o.comparison ?? []).map((line) => `\n${escapeMrkdwn(line)}`).join('');
  return `${escapeMrkdwn(o.reason)} (${took}, phase ${o.phase})${rules}`;
}

/** The context line: the caller's text with Slack's control characters escaped (no mentions
 * such as <!channel> or <@U123>, no link whose label hides its URL), then k6gate's cloud URL. */
function renderContext(
  target: Pick<NotifyTarget, 'context' | 'cloudUrl' | 'dashboardUrl'>,
): string {
  return [
    escapeMrkdwn(target.context),
    target.cloudUrl && `Cloud URL: <${target.cloudUrl}>`,
    target.dashboardUrl && `Dashboard: <${target.dashboardUrl}>`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The original's blocks: a mrkdwn section, and a context block only when there is context. */
function buildBlocks(text: string, context: string) {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    ...(context ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: context }] }] : []),
  ];
}

interface Settings {
  token: string;
  apiUrl: string | undefined;
  timeoutMs: number;
  retries: number;
  budgetMs: number;
  logger: Logger;
  sdkLogger: SlackLogger;
}

/** @example const slack = createSlackNotifier({ token, logger }); await slack.started(target); */
export function createSlackNotifier(opts: SlackNotifierOptions): Notifier {
  const logger = opts.logger.child({ component: 'slack' });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS;
  const settings: Settings = {
    token: opts.token,
    apiUrl: opts.apiUrl,
    timeoutMs,
    retries: opts.retries ?? DEFAULT_SLACK_RETRIES,
    budgetMs: opts.budgetMs ?? 3 * timeoutMs,
    logger,
    sdkLogger: adaptLogger(logger.child({ component: 'slack-sdk' }), opts.token),
  };
  const allowed = new Set(opts.allowedChannels ?? []);

  return {
    async started(target) {
      const threads = new Map<string, string>();
      const channels = channelsFor(target, allowed, logger);
      if (channels.length === 0) return { threads };
      const call = new SlackCall(settings);
      const text = formatMessage(target, 'has started');
      // Channels are independent: one failing channel does not stop the others.
      const posted = await Promise.all(
        channels.map((c) => call.post(c, text, renderContext(target))),
      );
      for (const p of posted) if (p) threads.set(p.channel, p.ts);
      return { threads };
    },

    async finished(target, threads: NotifyThreads, outcome, output) {
      if (threads.threads.size === 0) return;
      const call = new SlackCall(settings);
      const status = outcome.verdict === 'succeeded' ? 'has succeeded' : 'has failed';
      const text = `${formatMessage(target, status)}: ${describeOutcome(outcome)}`;
      await Promise.all(
        [...threads.threads].map(async ([channelId, ts]) => {
          await call.upload(channelId, ts, dropBanner(output));
          await call.update(channelId, ts, text, renderContext(target));
        }),
      );
    },

    async didNotStart(target, output) {
      const channels = channelsFor(target, allowed, logger);
      if (channels.length === 0) return;
      const call = new SlackCall(settings);
      const text = formatMessage(target, "didn't start successfully");
      await Promise.all(
        channels.map(async (channel) => {
          const p = await call.post(channel, text, renderContext(target));
          if (p) await call.upload(p.channel, p.ts, dropBanner(output));
        }),
      );
    },
  };
}

/** Checks the token once (auth.test) so a bad one shows at start, not at the first run: logs
 * who it is on success, an error naming Slack's answer otherwise. Never throws. */
export async function checkSlackToken(opts: SlackNotifierOptions): Promise<boolean> {
  const logger = opts.logger.child({ component: 'slack' });
  const client = new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    timeout: opts.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS,
    retryConfig: { retries: 0 },
    logger: adaptLogger(logger.child({ component: 'slack-sdk' }), opts.token),
  });
  try {
    const who = await client.auth.test();
    logger.info('slack token accepted', { team: who.team, user: who.user });
    return true;
  } catch (err) {
    logger.error(
      'slack refused the token at start: notifications will fail until it is fixed (--slack-token / SLACK_TOKEN, or the token file)',
      { ...describeSlackError(err, opts.token) },
    );
    return false;
  }
}

/** One notifier call: its own client, so that its deadline can abort every request of the call
 * (the SDK has no per-call signal; its own `timeout` bounds one attempt only). */
class SlackCall {
  private readonly client: WebClient;
  private readonly deadline: AbortSignal;
  private readonly endsAt: number;

  constructor(private readonly s: Settings) {
    const deadline = AbortSignal.timeout(s.budgetMs);
    const fetchWithin: FetchFunction = (url, init) =>
      fetch(url, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline,
      });
    this.client = new WebClient(s.token, {
      ...(s.apiUrl ? { slackApiUrl: s.apiUrl } : {}),
      timeout: s.timeoutMs,
      retryConfig: {
        retries: s.retries,
        factor: 1,
        minTimeout: RETRY_DELAY_MS,
        maxTimeout: RETRY_DELAY_MS,
      },
      // A 429 is not retried inside the SDK (it would pause for Retry-After beyond our budget);
      // `step` below retries once when Retry-After fits in what is left.
      rejectRateLimitedCalls: true,
      logger: s.sdkLogger,
      fetch: fetchWithin,
    });
    this.deadline = deadline;
    this.endsAt = Date.now() + s.budgetMs;
  }

  // Runs one Slack step; on failure logs `failure` with the channel and Slack's error code.
  private async step<T>(
    failure: string,
    channel: string,
    run: () => Promise<T>,
  ): Promise<T | undefined> {
    const { logger, budgetMs, token } = this.s;
    for (let retried = false; ; retried = true) {
      if (this.deadline.aborted) {
        logger.error(`${failure}: gave up after ${budgetMs} ms`, {
          channel,
          error: 'budget_exhausted',
        });
        return undefined;
      }
      try {
        return await run();
      } catch (err) {
        const problem = describeSlackError(err, token);
        const waitMs =
          problem.retryAfterSeconds === undefined ? undefined : problem.retryAfterSeconds * 1000;
        if (!retried && waitMs !== undefined && Date.now() + waitMs < this.endsAt) {
          logger.warn(`${failure}: rate-limited, retrying in ${waitMs} ms`, {
            channel,
            ...problem,
          });
          await Bun.sleep(waitMs);
          continue;
        }
        const budget = this.deadline.aborted ? { budgetExhausted: true } : {};
        logger.error(`${failure}: ${problem.error}`, { channel, ...problem, ...budget });
        return undefined;
      }
    }
  }

  async post(channel: string, text: string, context: string) {
    const res = await this.step(`error sending message to ${channel}`, channel, () =>
      this.client.chat.postMessage({ channel, text, blocks: buildBlocks(text, context) }),
    );
    if (res?.channel && res.ts) return { channel: res.channel, ts: res.ts };
    if (res) {
      this.s.logger.error(`error sending message to ${channel}: no channel or ts in the answer`, {
        channel,
      });
    }
    return undefined;
  }

  // The SDK's external-upload flow: getUploadURLExternal, POST to upload_url, complete.
  async upload(channelId: string, threadTs: string, output: string) {
    await this.step(
      `error while uploading output ${RESULTS_FILE_NAME} in slack channel ${channelId}`,
      channelId,
      () =>
        this.client.filesUploadV2({
          channel_id: channelId,
          thread_ts: threadTs,
          filename: RESULTS_FILE_NAME,
          title: RESULTS_FILE_NAME,
          content: output === '' ? EMPTY_OUTPUT_PLACEHOLDER : output,
        }),
    );
  }

  async update(channelId: string, ts: string, text: string, context: string) {
    await this.step(`error updating message ${ts} in channel ${channelId}`, channelId, () =>
      this.client.chat.update({ channel: channelId, ts, text, blocks: buildBlocks(text, context) }),
    );
  }
}

// The run's channels, once each, less those outside --slack-allowed-channels (logged).
function channelsFor(target: NotifyTarget, allowed: ReadonlySet<string>, logger: Logger): string[] {
  const unique = [...new Set(target.channels)];
  if (allowed.size === 0) return unique;
  const kept = unique.filter((c) => allowed.has(c.replace(/^#/, '')));
  const skipped = unique.filter((c) => !kept.includes(c));
  if (skipped.length > 0) {
    logger.warn('not posting to Slack channels outside --slack-allowed-channels', {
      canary: `${target.namespace}/${target.name}`,
      skipped,
    });
  }
  return kept;
}

interface SlackProblem {
  /** Slack's error code (`channel_not_found`, …) or what went wrong on the way. */
  error: string;
  /** The SDK's error class code (`slack_webapi_platform_error`, …). */
  code?: string;
  retryAfterSeconds?: number;
}

// Turns any SDK error into loggable fields; the token is cut out of every string.
function describeSlackError(err: unknown, token: string): SlackProblem {
  const e = err as {
    code?: string;
    data?: { error?: string };
    original?: Error;
    statusCode?: number;
    retryAfter?: number;
    message?: string;
  };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  let error: string;
  if (e?.data?.error) error = e.data.error;
  else if (code === 'slack_webapi_rate_limited_error') error = 'ratelimited';
  else if (code === 'slack_webapi_http_error') error = `http_status_${e.statusCode}`;
  else if (e?.original) error = e.original.message || e.original.name;
  else error = err instanceof Error ? err.message : String(err);
  return {
    error: redactToken(error, token),
    ...(code ? { code } : {}),
    ...(typeof e?.retryAfter === 'number' ? { retryAfterSeconds: e.retryAfter } : {}),
  };
}

function redactToken(text: string, token: string): string {
  return token ? text.split(token).join('[redacted]') : text;
}

// The SDK's logger interface onto the daemon's: its per-request debug chatter goes to trace,
// nothing reaches the console, and the token is cut out in case any line ever carried it.
function adaptLogger(logger: Logger, token: string): SlackLogger {
  const write = (level: DaemonLogLevel, parts: unknown[]) => {
    if (!logger.enabled(level)) return;
    const text = parts
      .map((p) => (typeof p === 'string' ? p : p instanceof Error ? p.message : safeJson(p)))
      .join(' ');
    logger[level](redactToken(text, token));
  };
  return {
    debug: (...parts: unknown[]) => write('trace', parts),
    info: (...parts: unknown[]) => write('info', parts),
    warn: (...parts: unknown[]) => write('warn', parts),
    error: (...parts: unknown[]) => write('error', parts),
    setLevel: () => {},
    getLevel: () =>
      logger.enabled('trace')
        ? LogLevel.DEBUG
        : logger.enabled('info')
          ? LogLevel.INFO
          : logger.enabled('warn')
            ? LogLevel.WARN
            : LogLevel.ERROR,
    setName: () => {},
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
