// The pod runners (job, k6-operator) and their janitor as one module, so the composition root
// loads them (and what they import) only when a Kubernetes client is configured.

import { startJanitor } from './janitor.ts';
import { createJobRunner } from './job.ts';
import type { PodRunnerOptions } from './options.ts';
import { createTestRunRunner } from './testrun.ts';
import { createRunSigner } from './signature.ts';

/** The pod runners, and a janitor sweeping `namespaces()` every minute until `stopped()`. */
export function createPodRunners(
  opts: PodRunnerOptions & {
    janitor:
      false | { namespaces(): Iterable<string>; forget(ns: string): void; stopped(): boolean };
  },
) {
  if (opts.janitor) startJanitor({ ...opts, ...opts.janitor, intervalMs: 60_000 });
  return { job: createJobRunner(opts), 'k6-operator': createTestRunRunner(opts) };
}

export { createRunSigner };

export type PodRunnerModule = {
  createPodRunners: typeof createPodRunners;
  createRunSigner: typeof createRunSigner;
};
