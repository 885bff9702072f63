// The janitor of pod runs: deletes a Job or TestRun of k6gate's that is past its deadline
// (annotation k6gate.io/deadline: created + --start-timeout + --max-run-duration) — one left by
// a daemon that stopped and got no retry to attach. It sweeps, every interval, the namespaces
// where this process made runs and those named exactly in --allowed-namespaces; a namespace
// where it finds no run of k6gate's is forgotten (its calls do not grow with every namespace
// ever asked for). A run this process still supervises is never touched (its own deadline
// ends it first).

import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { KubeTransport } from '../../kube/client.ts';
import { kubeRequest, type ObjectMeta } from '../../kube/objects.ts';
import { ANNOTATION, COLLECTION, LABEL, labelSelector, MANAGER } from '../../kube/names.ts';
import { deleteRunObject } from './kube-calls.ts';

const MANAGED = labelSelector({ [LABEL.managedBy]: MANAGER });
const COLLECTIONS = [COLLECTION.jobs, COLLECTION.testRuns];

export interface JanitorOptions {
  kube: KubeTransport;
  clock: Clock;
  logger: Logger;
  /** Namespaces to sweep, asked anew at each sweep. */
  namespaces(): Iterable<string>;
  /** Called for a namespace where no run of k6gate's was found (or none could be listed). */
  forget?(namespace: string): void;
}

/** Deletes every run past its deadline in the namespaces; answers how many it deleted. */
export async function sweepOrphans(opts: JanitorOptions): Promise<number> {
  let deleted = 0;
  for (const ns of [...opts.namespaces()]) {
    let found = 0;
    for (const collection of COLLECTIONS.map((c) => c(ns))) {
      const list = await listQuietly(opts, `${collection}?labelSelector=${MANAGED}`);
      found += list.length;
      for (const item of list) {
        const deadline = Date.parse(item.metadata.annotations?.[ANNOTATION.deadline] ?? '');
        if (!(deadline < opts.clock.now())) continue;
        opts.logger.warn(
          'deleting a run past its deadline (no k6gate came back for it, or a stateful verdict expired)',
          {
            run: `${ns}/${item.metadata.name}`,
            deadline: new Date(deadline).toISOString(),
          },
        );
        await deleteRunObject(opts.kube, `${collection}/${item.metadata.name}`, opts.logger);
        deleted++;
      }
    }
    if (found === 0) opts.forget?.(ns);
  }
  return deleted;
}

// A namespace without the right to list, or without the TestRun CRD, is skipped (logged at debug).
async function listQuietly(opts: JanitorOptions, path: string) {
  try {
    const list = await kubeRequest<{ items: { metadata: ObjectMeta }[] }>(opts.kube, 'GET', path);
    return list?.items ?? [];
  } catch (err) {
    opts.logger.debug('janitor: cannot list runs', { path, err });
    return [];
  }
}

/** Sweeps every `intervalMs` until `stopped()` says so (k6gate shutting down); the timer
 * never keeps the process alive. */
export function startJanitor(
  opts: JanitorOptions & { intervalMs: number; stopped(): boolean },
): void {
  let busy = false;
  const timer = setInterval(() => {
    if (opts.stopped()) return clearInterval(timer);
    if (busy) return;
    busy = true;
    void sweepOrphans(opts).finally(() => (busy = false));
  }, opts.intervalMs);
  timer.unref();
}
