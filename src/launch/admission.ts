// Admission of a launch, in order: the failure cache (a recent failure of this hook fails at
// once), draining (503 while shutting down), then a concurrency slot (429 with an honest
// Retry-After when none is free), local and pod runs from separate pools. Validation came
// before, in the HTTP layer: a bad request never takes a slot. A refusal is answered, not
// thrown: 429s come in floods, and a throw unwinding three async frames cost ~5 µs per request
// over the wire (bench/README.md, "Session 12").

import type { Clock } from '../core/clock.ts';
import { Busy, RecentFailure, ShuttingDown } from '../core/errors.ts';
import type { Counter } from '../core/metrics.ts';
import type { LaunchRequest } from '../flagger/payload.ts';
import type { FailureCache, HookKey } from './failure-cache.ts';
import { estimateRetryAfterSeconds, type RunRegistry } from './run-registry.ts';
import type { Semaphore, Slot } from './semaphore.ts';

export interface AdmissionDeps {
  failures: FailureCache;
  /** Local runs' slots (--max-concurrent-tests). */
  semaphore: Semaphore;
  /** Pod runs' slots (--max-concurrent-pod-runs): they load the cluster, not this pod. */
  podSemaphore: Semaphore;
  registry: RunRegistry;
  clock: Clock;
  rejections: Counter;
}

export interface Admitted {
  key: HookKey;
  slot: Slot;
}

/** Admission's no: the caller answers with it as it would with a thrown error. */
export interface Refused {
  refused: RecentFailure | ShuttingDown | Busy;
}

export function createAdmission(
  deps: AdmissionDeps,
): (req: LaunchRequest, key: HookKey, inPods: boolean) => Admitted | Refused {
  const retryAfter = throttledRetryAfter(deps.registry, deps.clock);
  return (req, key, inPods) => {
    const remaining = deps.failures.remainingMs(key, req.minFailureDelayMs);
    if (remaining > 0) {
      deps.rejections.inc({ reason: 'recent_failure' });
      return { refused: new RecentFailure(Math.ceil(remaining / 1000)) };
    }
    if (deps.registry.draining) return { refused: new ShuttingDown() };
    const slot = (inPods ? deps.podSemaphore : deps.semaphore).tryAcquire();
    if (!slot) {
      deps.rejections.inc({ reason: 'busy' });
      return { refused: new Busy(retryAfter()) };
    }
    return { key, slot };
  };
}

/** The hook a request is for: canary, phase, checksum and a digest of the script. */
export function hookKeyOf(req: LaunchRequest): HookKey {
  const cm = req.scriptConfigMap;
  const script = digestOf(cm ? `configmap ${cm.name}/${cm.key}` : req.script);
  return {
    namespace: req.namespace,
    name: req.name,
    phase: req.phase,
    checksum: req.checksum,
    script,
  };
}

// The last script's digest is kept: a flood of calls (429s) repeats one canary's script.
let lastDigest = { source: '', digest: Bun.SHA256.hash('', 'hex') };
function digestOf(source: string): string {
  if (source !== lastDigest.source) {
    lastDigest = { source, digest: Bun.SHA256.hash(source, 'hex') };
  }
  return lastDigest.digest;
}

// Saturated daemons answer 429s in floods: estimate Retry-After at most once a second.
function throttledRetryAfter(registry: RunRegistry, clock: Clock): () => number {
  let cached = { at: Number.NEGATIVE_INFINITY, seconds: 0 };
  return () => {
    const now = clock.now();
    if (now - cached.at >= 1000) {
      cached = {
        at: now,
        seconds: estimateRetryAfterSeconds(registry.running(), registry.recentDurationsMs(), now),
      };
    }
    return cached.seconds;
  };
}
