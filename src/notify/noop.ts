// The notifier when Slack is not configured: sends nothing, says at debug level what it would
// have sent (as the original does), and only when a run named channels.

import type { Logger } from '../log.ts';
import type { Notifier } from './notifier.ts';

const NO_THREADS = { threads: new Map<string, string>() };

export function createNoopNotifier(logger: Logger): Notifier {
  return {
    async started(target) {
      if (target.channels.length > 0) {
        logger.debug("Slack disabled. Would've sent a start message", {
          channels: target.channels,
          canary: `${target.namespace}/${target.name}`,
        });
      }
      return NO_THREADS;
    },
    async finished(target, _threads, outcome) {
      if (target.channels.length > 0) {
        logger.debug("Slack disabled. Would've updated messages", { outcome });
      }
    },
    async didNotStart(target) {
      if (target.channels.length > 0) {
        logger.debug("Slack disabled. Would've sent a didn't-start message", {
          channels: target.channels,
        });
      }
    },
  };
}
