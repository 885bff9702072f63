// The script seam: turns `script_configmap` into the files of the test. The real one reads the
// ConfigMap from the Kubernetes API (the canary's namespace only); without a client it is
// k6gate's misconfiguration (503). Tests run the real one against a real API server.

import { BadRequest, NotEnabled, Upstream } from '../core/errors.ts';
import type { ConfigMapRef } from '../flagger/payload.ts';
import { bundleFromConfigMap, type ScriptBundle } from '../k6/script-bundle.ts';
import type { KubeTransport } from './client.ts';
import { COLLECTION } from './names.ts';
import { kubeRequest } from './objects.ts';

export interface ScriptSource {
  /** The bundle of `ref` in `namespace`; BadRequest naming metadata.script_configmap when the
   * ConfigMap or key is missing or too large, Upstream when the API fails, NotEnabled when k6gate may not read. */
  fetch(namespace: string, ref: ConfigMapRef, signal?: AbortSignal): Promise<ScriptBundle>;
}

export const unconfiguredScriptSource: ScriptSource = {
  fetch() {
    return Promise.reject(
      new NotEnabled(
        'kubernetes client is not configured: script_configmap needs --kubernetes-client / KUBERNETES_CLIENT (chart: kubernetes.enabled=true and kubernetes.scriptConfigMaps.enabled=true)',
      ),
    );
  },
};

export function createKubeScriptSource(
  kube: KubeTransport,
  opts: { timeoutMs: number },
): ScriptSource {
  return {
    async fetch(namespace, ref, signal) {
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const path = `${COLLECTION.configMaps(namespace)}/${ref.name}`;
      let cm: Parameters<typeof bundleFromConfigMap>[0] | undefined;
      try {
        cm = await kubeRequest(
          kube,
          'GET',
          path,
          undefined,
          signal ? AbortSignal.any([signal, timeout]) : timeout,
        );
      } catch (err) {
        if (timeout.aborted) {
          throw new Upstream(
            `error fetching ConfigMap ${namespace}/${ref.name}: no answer within ${opts.timeoutMs} ms`,
          );
        }
        throw err;
      }
      if (!cm) {
        throw new BadRequest(
          'metadata.script_configmap',
          `ConfigMap "${ref.name}" not found in namespace "${namespace}" (the canary's own namespace)`,
        );
      }
      return bundleFromConfigMap(cm, ref);
    },
  };
}
