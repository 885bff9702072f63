// The API calls of a pod run: create its object or attach to the one under way (409), create
// its own script ConfigMap, delete it with a foreground cascade, and read a runner's log.

import { TestFailed } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { KubeTransport } from '../../kube/client.ts';
import { ANNOTATION, COLLECTION, LABEL } from '../../kube/names.ts';
import { kubeRequest, refusal, type ObjectMeta } from '../../kube/objects.ts';
import type { RunSpec } from '../runner.ts';
import { runObjectLabels } from './manifest.ts';
import type { RunSigner } from './signature.ts';

export type Created =
  { attached: false; uid: string } | { attached: true; runId: string; meta: ObjectMeta };

export interface RunObject {
  kind: string;
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
}

/** POSTs the run object, signed; on 409 (it exists) the run is already under way: attach to it
 * — only when this key signed it (an object someone else made under the name is refused). */
export async function createOrAttach(
  kube: KubeTransport,
  namespace: string,
  collection: string,
  object: RunObject,
  signer: RunSigner,
): Promise<Created> {
  const { name } = object.metadata;
  const signature = signer.sign([namespace, name, object.metadata.labels[LABEL.runId] ?? '']);
  object.metadata.annotations = {
    ...object.metadata.annotations,
    [ANNOTATION.signature]: signature,
  };
  const res = await kube.request('POST', collection, { body: object });
  if (res.status === 409) {
    const path = `${collection}/${name}`;
    const found = await kubeRequest<{ metadata: ObjectMeta }>(kube, 'GET', path);
    const runId = found?.metadata.labels?.[LABEL.runId];
    if (!runId) {
      throw new TestFailed(
        `error while launching test: a ${object.kind} of the same run exists but cannot be read`,
      );
    }
    const theirs = found.metadata.annotations?.[ANNOTATION.signature];
    if (!signer.verify([namespace, name, runId], theirs)) {
      throw new TestFailed(
        `error while launching test: ${object.kind} ${namespace}/${name} exists but k6gate did not make it (no valid ${ANNOTATION.signature}); refusing to attach to it or answer from it: delete it`,
      );
    }
    return { attached: true, runId, meta: found.metadata };
  }
  if (!res.ok) throw await refusal(res, 'POST', collection);
  const created = (await res.json()) as { metadata: ObjectMeta };
  if (!created.metadata.uid) {
    throw new TestFailed(`error while launching test: the ${object.kind} was not created`);
  }
  return { attached: false, uid: created.metadata.uid };
}

/** The run's own script ConfigMap (the inline script, or a bundle's files as binaryData), owned
 * by the run object so the garbage collector deletes it with it. */
export async function createScriptConfigMap(
  kube: KubeTransport,
  spec: RunSpec,
  name: string,
  owner: { apiVersion: string; kind: string; uid: string },
) {
  await kubeRequest(kube, 'POST', COLLECTION.configMaps(spec.namespace), {
    metadata: {
      name,
      labels: runObjectLabels(spec),
      ownerReferences: [{ ...owner, name, blockOwnerDeletion: true }],
    },
    ...(spec.bundle
      ? { binaryData: base64Files(spec.bundle.files) }
      : { data: { [spec.scriptName]: spec.script } }),
  });
}

function base64Files(files: Readonly<Record<string, Uint8Array>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
}

/** Deletes a run object with a foreground cascade (its pods, services and ConfigMap go too). */
export async function deleteRunObject(kube: KubeTransport, path: string, logger: Logger) {
  try {
    await kubeRequest(kube, 'DELETE', path, { propagationPolicy: 'Foreground' });
  } catch (err) {
    logger.error('cannot delete the run; it will be left behind', { err, path });
  }
}

/** The end of a runner's output (its end-of-test summary), at most `maxBytes`; best effort: a
 * cluster without a log source for the pod (a kubelet that cannot be reached) says so instead
 * of failing the verdict. */
export async function readLog(
  kube: KubeTransport,
  ns: string,
  pod: string,
  logger: Logger,
  maxBytes: number,
): Promise<string> {
  // The last lines, then at most maxBytes of them (the API cuts from their start): the summary.
  const lines = Math.max(50, Math.floor(maxBytes / 80));
  const path = `${COLLECTION.pods(ns)}/${pod}/log?container=k6&tailLines=${lines}&limitBytes=${maxBytes}`;
  try {
    const res = await kube.request('GET', path, { signal: AbortSignal.timeout(5000) });
    if (res.ok) return await res.text();
    const body = (await res.text()).slice(0, 200);
    return `(k6gate: the runner's log is not available: HTTP ${res.status} ${body})`;
  } catch (err) {
    logger.debug('cannot read the runner log', { err });
    return `(k6gate: the runner's log is not available: ${(err as Error).message})`;
  }
}
