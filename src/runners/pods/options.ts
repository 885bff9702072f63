// What every pod runner (job, k6-operator) is built with: the cluster, the runner image and
// service account, default resources, the deadlines, and the namespaces runs were made in.

import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { KubeTransport } from '../../kube/client.ts';
import type { RunnerResources } from '../runner.ts';
import type { RunSigner } from './signature.ts';

/** What every pod runner (job, k6-operator) is built with. */
export interface PodRunnerOptions {
  kube: KubeTransport;
  /** The k6 image runner pods use unless the request picks an allowed one. */
  image: string;
  /** The runner pods' service account ('' for the namespace's default); its token is never mounted. */
  serviceAccount: string;
  /** Resources of runner pods when a request names none (--runner-resources). */
  runnerResources: RunnerResources | undefined;
  startTimeoutMs: number;
  /** Namespaces where runs were made, for the janitor. */
  usedNamespaces: Set<string>;
  /** Hard deadline per run; 0 disables. */
  maxRunMs: number;
  killGraceMs: number;
  /** What a run's answer may hold of its runners' logs, shared between them. */
  maxOutputBytes: number;
  /** Seconds one watch request of a run's pods lasts before it is re-opened (tests shorten it). */
  watchSeconds?: number;
  /** Signs the run objects this daemon makes and verifies those it attaches to. */
  signer: RunSigner;
  logger: Logger;
  clock: Clock;
}
