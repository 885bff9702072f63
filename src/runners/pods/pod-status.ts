// What a runner pod says about its k6 container: still waiting (and why), running, or ended —
// with the verdict from k6's exit code (the same table as local runs), OOMKilled or eviction.

import { explainExitCode, type Verdict } from '../../k6/exit-codes.ts';
import type { ObjectMeta } from '../../kube/objects.ts';

interface ContainerState {
  running?: object;
  terminated?: { exitCode: number; reason?: string; message?: string };
  waiting?: { reason?: string; message?: string };
}
export interface Pod {
  metadata: ObjectMeta;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: { name: string; state?: ContainerState }[];
  };
}

/** How one runner pod ended. */
export interface PodOutcome {
  exitCode: number | null;
  verdict: Verdict;
  reason: string;
  pod: string;
}

/** What a pod says about its k6 container: still waiting (and why), running, or ended. */
export function readPod(pod: Pod): { running: boolean; waiting?: string; ended?: PodOutcome } {
  const k6 = pod.status?.containerStatuses?.find((c) => c.name === 'k6')?.state;
  const name = pod.metadata.name;
  if (pod.status?.reason === 'Evicted') {
    const why = `runner pod ${name} was evicted: ${pod.status.message ?? ''}`.trim();
    return { running: false, ended: { exitCode: null, verdict: 'error', reason: why, pod: name } };
  }
  if (k6?.terminated) {
    const { exitCode, reason } = k6.terminated;
    if (reason === 'OOMKilled') {
      const why = `runner pod ${name}: k6 was OOMKilled (raise its memory limit)`;
      return { running: false, ended: { exitCode, verdict: 'error', reason: why, pod: name } };
    }
    return { running: false, ended: { exitCode, ...explainExitCode(exitCode), pod: name } };
  }
  if (k6?.running) return { running: true };
  const w = k6?.waiting;
  if (!w?.reason) return { running: false };
  return {
    running: false,
    waiting: `pod ${name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`,
  };
}
