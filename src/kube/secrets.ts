// Resolves `kubernetes_secrets` references into values: one GET per distinct secret, in
// parallel, each with a timeout. Errors name the secret, key or missing permission and never
// carry a value; an unreachable API server is a 503 (Flagger retries) and not the canary's fault.

import { BadRequest, Upstream } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { KubeTransport } from './client.ts';
import type { SecretSource } from './secret-source.ts';

const FIELD = 'metadata.kubernetes_secrets';

/** When KUBERNETES_CLIENT=none: fine without refs, a 400 with them. */
export const unconfiguredSecretSource: SecretSource = {
  async resolve(refs) {
    if (refs.length > 0) throw new BadRequest(FIELD, 'kubernetes client is not configured');
    return {};
  },
};

interface SecretObject {
  data?: Record<string, string>;
}

export function createKubeSecretSource(
  transport: KubeTransport,
  opts: { timeoutMs: number; logger: Logger },
): SecretSource {
  async function fetchSecret(namespace: string, name: string, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await transport.get(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
        combined,
      );
    } catch (err) {
      const why = timeout.aborted
        ? `no answer within ${opts.timeoutMs} ms`
        : err instanceof Error
          ? err.message
          : String(err);
      throw new Upstream(
        `error fetching secret ${namespace}/${name}: kubernetes API unreachable (${why})`,
      );
    }
    if (res.ok) return ((await res.json()) as SecretObject).data ?? {};
    const status = (await res.json().catch(() => ({}))) as { message?: string };
    const message = status.message ?? `HTTP ${res.status}`;
    if (res.status === 404) {
      throw new BadRequest(
        FIELD,
        `error fetching secret ${namespace}/${name}: secrets "${name}" not found`,
      );
    }
    if (res.status === 403) {
      throw new BadRequest(
        FIELD,
        `error fetching secret ${namespace}/${name}: forbidden: ${message}. Grant "get" on "secrets" in namespace "${namespace}" to k6gate's identity with a Role and a RoleBinding (or the chart's rbac settings)`,
      );
    }
    if (res.status === 401) {
      throw new Upstream(
        `error fetching secret ${namespace}/${name}: unauthorized: k6gate's kubernetes credentials were rejected`,
      );
    }
    if (res.status >= 500 || res.status === 429) {
      throw new Upstream(
        `error fetching secret ${namespace}/${name}: kubernetes API answered ${res.status}: ${message}`,
      );
    }
    throw new BadRequest(FIELD, `error fetching secret ${namespace}/${name}: ${message}`);
  }

  return {
    async resolve(refs, signal) {
      if (refs.length === 0) return {};
      const bySecret = new Map<string, Promise<Record<string, string>>>();
      for (const ref of refs) {
        const id = `${ref.namespace}/${ref.name}`;
        if (!bySecret.has(id)) bySecret.set(id, fetchSecret(ref.namespace, ref.name, signal));
      }
      // Settle all before deciding, so no fetch is left running unobserved.
      const settled = await Promise.allSettled(bySecret.values());
      const firstError = settled.find((s) => s.status === 'rejected');
      if (firstError) throw firstError.reason;
      const values: Record<string, string> = {};
      for (const ref of refs) {
        const data = await bySecret.get(`${ref.namespace}/${ref.name}`);
        const encoded = data?.[ref.key];
        if (encoded === undefined) {
          throw new BadRequest(
            FIELD,
            `secret ${ref.namespace}/${ref.name} does not have key ${ref.key}`,
          );
        }
        values[ref.env] = Buffer.from(encoded, 'base64').toString('utf8');
      }
      opts.logger.debug('fetched secrets', { secrets: bySecret.size, keys: refs.length });
      return values;
    },
  };
}
