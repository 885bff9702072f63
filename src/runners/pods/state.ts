// A stateful hook's pod run keeps its state on its run object, so any replica answers: when the
// run ends, its verdict is written as an annotation and the object is kept until the deadline
// annotation (verdict + --stateful-ttl; the janitor deletes it then) instead of being deleted.
// A replica whose call finds the object (409) answers from that annotation; a new revision of
// the canary deletes the runs of older ones, wherever they were started.

import type { Logger } from '../../core/log.ts';
import type { Verdict } from '../../k6/exit-codes.ts';
import type { KubeTransport } from '../../kube/client.ts';
import { kubeRequest, type ObjectMeta } from '../../kube/objects.ts';
import { ANNOTATION, LABEL, labelSelector } from '../../kube/names.ts';
import { deleteRunObject } from './kube-calls.ts';
import type { RunSigner } from './signature.ts';
import { TestFailed } from '../../core/errors.ts';
import { runResult, type RunResult, type RunSpec } from '../runner.ts';

interface Recorded {
  verdict: Verdict;
  reason: string;
  exitCode: number | null;
  durationMs: number;
}

/** Writes the verdict, signed, on the run object and moves its deadline to now + `keepForMs`. */
export async function recordVerdict(
  kube: KubeTransport,
  path: string,
  result: RunResult,
  keep: { keepForMs: number; now: number; signer: RunSigner; namespace: string; name: string },
  logger: Logger,
) {
  const recorded: Recorded = {
    verdict: result.verdict,
    reason: result.reason,
    exitCode: result.exitCode,
    durationMs: Math.round(result.durationMs),
  };
  const text = JSON.stringify(recorded);
  const annotations = {
    [ANNOTATION.verdict]: text,
    [ANNOTATION.verdictSignature]: keep.signer.sign([
      keep.namespace,
      keep.name,
      result.runId,
      text,
    ]),
    [ANNOTATION.deadline]: new Date(keep.now + keep.keepForMs).toISOString(),
  };
  try {
    const res = await kube.request('PATCH', path, {
      body: { metadata: { annotations } },
      contentType: 'application/merge-patch+json',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  } catch (err) {
    logger.error('cannot record the verdict on the run; other replicas will not see it', {
      err,
      path,
    });
  }
}

/** The verdict another replica recorded on the run object (whose run id is `runId`), if any;
 * one this key did not sign is refused (TestFailed), never answered from. */
export function recordedResult(
  meta: ObjectMeta,
  runId: string,
  kind: string,
  signer: RunSigner,
): RunResult | undefined {
  const text = meta.annotations?.[ANNOTATION.verdict];
  if (!text) return undefined;
  const signed = [meta.namespace ?? '', meta.name ?? '', runId, text];
  if (!signer.verify(signed, meta.annotations?.[ANNOTATION.verdictSignature])) {
    throw new TestFailed(
      `error while launching test: the verdict on ${kind} ${meta.namespace ?? ''}/${meta.name ?? ''} was not recorded by k6gate (no valid ${ANNOTATION.verdictSignature}); refusing to answer from it: delete the ${kind}`,
    );
  }
  let r: Recorded;
  try {
    r = JSON.parse(text) as Recorded;
  } catch {
    return undefined;
  }
  const output = `(k6gate: the verdict recorded on ${kind} ${meta.name} by the replica that watched the run)`;
  return runResult({
    runId,
    exitCode: r.exitCode,
    verdict: r.verdict,
    reason: r.reason,
    durationMs: r.durationMs,
    output,
  });
}

/** Deletes the runs of this canary and phase other than `keep` (older revisions). */
export async function supersedeOthers(
  kube: KubeTransport,
  collection: string,
  spec: RunSpec,
  keep: string,
  logger: Logger,
) {
  const l = spec.labels;
  const sameHook = [LABEL.canaryNamespace, LABEL.canaryName, LABEL.phase] as const;
  const selector = labelSelector(Object.fromEntries(sameHook.map((k) => [k, l[k] ?? ''])));
  const list = await kubeRequest<{ items: { metadata: ObjectMeta }[] }>(
    kube,
    'GET',
    `${collection}?labelSelector=${selector}`,
  );
  const role = l[LABEL.role] ?? '';
  for (const item of list?.items ?? []) {
    if (item.metadata.name === keep) continue;
    // A canary's run and the primary's run it is compared with never supersede each other.
    if ((item.metadata.labels?.[LABEL.role] ?? '') !== role) continue;
    logger.info('a new revision of the canary: deleting the run of the old one', {
      run: item.metadata.name,
    });
    await deleteRunObject(kube, `${collection}/${item.metadata.name}`, logger);
  }
}
