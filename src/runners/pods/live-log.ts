// A runner pod's log as k6 writes it: `pods/<pod>/log?follow=true` of its `k6` container, read
// while the run goes on, for whoever watches the run (the runs API's log stream, the page). One
// pod is followed: the run's only runner, or runner 1 of a k6-operator run. The verdict's output
// is still every runner's log read at the end (their summaries, merged; `k6gate run` prints
// that); this is the live view, bounded to its last `maxBytes`. A log the cluster cannot
// serve (no kubelet log source, a runner gone) leaves the view empty and the run untouched.

import type { Logger } from '../../core/log.ts';
import { COLLECTION } from '../../kube/names.ts';
import type { KubeTransport } from '../../kube/client.ts';

export interface LiveLog {
  /** What the followed pod printed so far (its last maxBytes). */
  text(): string;
}

/** Follows `pod`'s k6 log until `signal` aborts or the log ends. */
export function followPodLog(
  kube: KubeTransport,
  target: { namespace: string; pod: string },
  opts: {
    maxBytes: number;
    signal: AbortSignal;
    logger: Logger;
  },
): LiveLog {
  let text = '';
  const decoder = new TextDecoder();
  const path = `${COLLECTION.pods(target.namespace)}/${target.pod}/log?container=k6&follow=true`;
  void (async () => {
    try {
      const res = await kube.request('GET', path, { signal: opts.signal });
      if (!res.ok || !res.body) {
        opts.logger.debug('the runner log cannot be followed', { status: res.status });
        return void (await res.body?.cancel());
      }
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        text += decoder.decode(next.value, { stream: true });
        // Cut back to the bound once it is doubled, not on every chunk past it (a copy of the
        // whole bound per progress line); reads cut what is over.
        if (text.length > 2 * opts.maxBytes) text = text.slice(-opts.maxBytes);
      }
    } catch (err) {
      if (!opts.signal.aborted) opts.logger.debug('following the runner log ended', { err });
    }
  })();
  return { text: () => (text.length > opts.maxBytes ? text.slice(-opts.maxBytes) : text) };
}
