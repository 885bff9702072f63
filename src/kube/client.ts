// The Kubernetes seam: configuration from @kubernetes/client-node (in-cluster service account,
// or a kubeconfig), and a small HTTPS transport on Bun's fetch. Credentials, CA and client
// certificates come from client-node's applyToHTTPSOptions; the request itself goes through
// fetch's `tls` option because Bun does not honour the agents client-node builds (a private
// CA, as every cluster has, would otherwise fail verification).

import { KubeConfig } from '@kubernetes/client-node';

export type KubernetesClientMode = 'none' | 'in-cluster' | 'kubeconfig';

/** Loads the configuration for a mode; undefined for `none`. Throws with a clear message. */
export function loadKubeConfig(
  mode: KubernetesClientMode,
  kubeconfigPath?: string,
  /** Where the service-account files live (tests); '' means /var/run/secrets/…. */
  inClusterPathPrefix = '',
): KubeConfig | undefined {
  if (mode === 'none') return undefined;
  const kc = new KubeConfig();
  if (mode === 'in-cluster') {
    kc.loadFromCluster(inClusterPathPrefix);
    if (!kc.getCurrentCluster()?.server || kc.getCurrentCluster()?.server.includes('undefined')) {
      throw new Error(
        'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
      );
    }
  } else if (kubeconfigPath) {
    kc.loadFromFile(kubeconfigPath);
  } else {
    kc.loadFromDefault();
  }
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
  return kc;
}

export interface KubeTransport {
  /** The API server URL. */
  readonly server: string;
  get(path: string, signal: AbortSignal): Promise<Response>;
  /** Any verb; a body is sent as JSON (or as `contentType`, e.g. a merge patch). */
  request(
    method: string,
    path: string,
    init?: { body?: unknown; signal?: AbortSignal; contentType?: string },
  ): Promise<Response>;
}

interface HttpsOptions {
  headers?: Record<string, string | string[] | undefined>;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

export function createKubeTransport(kc: KubeConfig): KubeTransport {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const verify = !cluster.skipTLSVerify;
  const serverName = cluster.tlsServerName;
  async function request(
    method: string,
    path: string,
    init: { body?: unknown; signal?: AbortSignal; contentType?: string } = {},
  ): Promise<Response> {
    const opts: HttpsOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { Accept: 'application/json' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    if (init.body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
    const text = (v: string | Buffer | undefined) => (v === undefined ? undefined : v.toString());
    return fetch(`${server}${path}`, {
      method,
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      tls: {
        ca: text(opts.ca),
        cert: text(opts.cert),
        key: text(opts.key),
        rejectUnauthorized: opts.rejectUnauthorized ?? verify,
        ...(serverName ? { serverName } : {}),
      },
    } as RequestInit);
  }
  return { server, request, get: (path, signal) => request('GET', path, { signal }) };
}
