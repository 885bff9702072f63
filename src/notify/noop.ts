// The notifier when Slack is not configured (no SLACK_TOKEN): sends nothing and, like the
// original's noopClient, says at debug level what it would have sent, only when the run named
// channels. It never loads @slack/web-api.

import type { Logger } from '../core/log.ts';
import { RESULTS_FILE_NAME, type Notifier, type NotifyTarget } from './notifier.ts';

export function createNoopNotifier(logger: Logger): Notifier {
  const describe = (target: NotifyTarget) => ({
    channels: target.channels,
    canary: `${target.namespace}/${target.name}`,
  });
  return {
    async started(target) {
      if (target.channels.length > 0) {
        logger.debug("Slack disabled. Would've sent the following message", {
          ...describe(target),
          status: 'has started',
        });
      }
      return { threads: new Map<string, string>() };
    },
    async finished(target, _threads, outcome, output) {
      if (target.channels.length === 0) return;
      logger.debug(`Slack disabled. Would've uploaded file named: ${RESULTS_FILE_NAME}`, {
        ...describe(target),
        bytes: Buffer.byteLength(output),
      });
      logger.debug("Slack disabled. Would've updated messages", {
        ...describe(target),
        status: outcome.verdict === 'succeeded' ? 'has succeeded' : 'has failed',
        reason: outcome.reason,
      });
    },
    async didNotStart(target, output) {
      if (target.channels.length === 0) return;
      logger.debug("Slack disabled. Would've sent the following message", {
        ...describe(target),
        status: "didn't start successfully",
      });
      logger.debug(`Slack disabled. Would've uploaded file named: ${RESULTS_FILE_NAME}`, {
        ...describe(target),
        bytes: Buffer.byteLength(output),
      });
    },
  };
}
