// Kubernetes Events on the Canary, where its owner looks (`kubectl describe canary`): the
// verdict of each load test (LoadTestPassed / LoadTestFailed) and the refusals Flagger cannot
// show (a 5xx or 429 its client retries and then reports only as "giving up after N
// attempt(s)"): LoadTestRefused with k6gate's reason. Best effort: an API that refuses (no
// `create` on events) or fails is logged once, never fails a run or an answer.

import type { Logger } from '../core/log.ts';
import type { KubeTransport } from './client.ts';
import { COLLECTION } from './names.ts';

export interface CanaryEvent {
  namespace: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: 'LoadTestPassed' | 'LoadTestFailed' | 'LoadTestRefused';
  /** One line; cut to MAX_MESSAGE characters. */
  message: string;
}

export interface CanaryEvents {
  record(event: CanaryEvent): Promise<void>;
}

/** Without a Kubernetes client (or with events off): nothing is recorded. */
export const noCanaryEvents: CanaryEvents = { record: async () => {} };

const MAX_MESSAGE = 1000;

/** @example const events = createCanaryEvents(kube, { logger, now: Date.now }); */
export function createCanaryEvents(
  kube: KubeTransport,
  opts: { logger: Logger; now: () => number },
): CanaryEvents {
  let warned = false;
  return {
    async record(e) {
      const at = new Date(opts.now()).toISOString();
      const body = {
        metadata: { generateName: `${e.name}.k6gate-`, namespace: e.namespace },
        involvedObject: {
          apiVersion: 'flagger.app/v1beta1',
          kind: 'Canary',
          name: e.name,
          namespace: e.namespace,
        },
        type: e.type,
        reason: e.reason,
        message: oneLine(e.message),
        source: { component: 'k6gate' },
        reportingComponent: 'k6gate',
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      };
      try {
        const res = await kube.request('POST', COLLECTION.events(e.namespace), { body });
        if (res.ok || warned) return;
        warned = true;
        opts.logger.warn('cannot record Events on Canaries (chart: kubernetes.canaryEvents)', {
          status: res.status,
          namespace: e.namespace,
        });
      } catch (err) {
        opts.logger.debug('cannot record an Event on the Canary', { err });
      }
    },
  };
}

function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  return line.length <= MAX_MESSAGE ? line : `${line.slice(0, MAX_MESSAGE - 1)}…`;
}
