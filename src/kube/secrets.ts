// Resolves `kubernetes_secrets` references into values: one GET per distinct secret, in
// parallel, each with a timeout. Errors name the secret, key or missing permission and never
// carry a value; an unreachable API server is a 503 (Flagger retries) and not the canary's fault.

import { BadRequest, NotEnabled, Upstream } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { KubeTransport } from './client.ts';
import { COLLECTION } from './names.ts';
import type { SecretSource } from './secret-source.ts';

const FIELD = 'metadata.kubernetes_secrets';

/** When KUBERNETES_CLIENT=none: fine without refs; with them, not enabled here (400). */
export const unconfiguredSecretSource: SecretSource = {
  async resolve(refs) {
    if (refs.length > 0) {
      throw new NotEnabled(
        'kubernetes client is not configured: kubernetes_secrets needs --kubernetes-client / KUBERNETES_CLIENT (chart: kubernetes.enabled=true)',
      );
    }
    return {};
  },
};

interface SecretObject {
  data?: Record<string, string>;
}

interface FetchOptions {
  timeoutMs: number;
}

async function fetchSecret(
  transport: KubeTransport,
  opts: FetchOptions,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await transport.get(
      `${COLLECTION.secrets(namespace)}/${encodeURIComponent(name)}`,
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
  throw secretError(res.status, status.message ?? `HTTP ${res.status}`, namespace, name);
}

// The API server's refusal as k6gate's error: the canary's problem (4xx) or the API's (503).
function secretError(code: number, message: string, namespace: string, name: string): Error {
  const what = `error fetching secret ${namespace}/${name}`;
  if (code === 404) return new BadRequest(FIELD, `${what}: secrets "${name}" not found`);
  if (code === 403) {
    return new BadRequest(
      FIELD,
      `${what}: forbidden: ${message}. Grant "get" on "secrets" in namespace "${namespace}" to k6gate's identity with a Role and a RoleBinding (or the chart's rbac settings)`,
    );
  }
  if (code === 401) {
    return new Upstream(`${what}: unauthorized: k6gate's kubernetes credentials were rejected`);
  }
  if (code >= 500 || code === 429) {
    return new Upstream(`${what}: kubernetes API answered ${code}: ${message}`);
  }
  return new BadRequest(FIELD, `${what}: ${message}`);
}

export function createKubeSecretSource(
  transport: KubeTransport,
  opts: { timeoutMs: number; logger: Logger },
): SecretSource {
  return {
    async resolve(refs, signal) {
      if (refs.length === 0) return {};
      const bySecret = new Map<string, Promise<Record<string, string>>>();
      for (const ref of refs) {
        const id = `${ref.namespace}/${ref.name}`;
        if (!bySecret.has(id))
          bySecret.set(id, fetchSecret(transport, opts, ref.namespace, ref.name, signal));
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
