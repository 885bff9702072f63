// Kubernetes objects over the transport: JSON requests with errors that blame the right party
// (a missing permission names the verb, resource and namespace, and the chart value that
// grants it), and watches read as a stream of events (never polled).

import { NotEnabled, Upstream } from '../core/errors.ts';
import { wait } from '../core/timers.ts';
import type { KubeTransport } from './client.ts';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const VERBS: Record<string, string> = {
  GET: 'get',
  POST: 'create',
  DELETE: 'delete',
  PATCH: 'patch',
  PUT: 'update',
};

/** The chart values whose RBAC grants each resource k6gate uses. */
const CHART_VALUE: Record<string, string> = {
  secrets: 'chart: kubernetes.secretNamespaces, or a Role and a RoleBinding',
  jobs: 'chart: runners.enabled [job] and runners.namespaces, or a Role and a RoleBinding',
  testruns:
    'chart: runners.enabled [k6-operator] and runners.namespaces, or a Role and a RoleBinding',
  configmaps:
    'chart: kubernetes.scriptConfigMaps.enabled (get, for script_configmap) or runners.enabled and runners.namespaces (create), or a Role and a RoleBinding',
  pods: 'chart: runners.enabled and runners.namespaces, or a Role and a RoleBinding',
};

/** One JSON request; undefined for a 404 on GET/DELETE; throws Upstream otherwise. */
export async function kubeRequest<T>(
  kube: KubeTransport,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T | undefined> {
  let res: Response;
  try {
    res = await kube.request(method, path, { body, ...(signal ? { signal } : {}) });
  } catch (err) {
    throw new Upstream(`kubernetes API unreachable (${method} ${path}): ${(err as Error).message}`);
  }
  if (res.ok) return (await res.json()) as T;
  if (res.status === 404 && method !== 'POST') return undefined;
  throw await refusal(res, method, path);
}

/** The API's refusal as k6gate's error; a missing permission names the verb, resource and
 * namespace to grant. */
export async function refusal(
  res: Response,
  method: string,
  path: string,
): Promise<Upstream | NotEnabled> {
  const status = (await res.json().catch(() => ({}))) as { message?: string };
  const message = status.message ?? `HTTP ${res.status}`;
  const code = res.status;
  if (code === 403) {
    const ns = /\/namespaces\/([^/]+)\//.exec(path)?.[1] ?? '(cluster)';
    const resource = /\/namespaces\/[^/]+\/([^/?]+)/.exec(path)?.[1] ?? path;
    const verb = VERBS[method] ?? method;
    return new NotEnabled(
      `k6gate may not ${verb} ${resource} in namespace "${ns}": ${message}. Grant "${verb}" on "${resource}" in that namespace to k6gate's identity (${CHART_VALUE[resource] ?? 'a Role and a RoleBinding'})`,
    );
  }
  return new Upstream(`kubernetes API answered ${code} to ${method} ${path}: ${message}`);
}

/** How long one watch request lasts (the API server's `timeoutSeconds`) before it is re-opened:
 * the server ends watches on its own after --min-request-timeout (30–60 min), so a run longer
 * than that would otherwise never see its end. */
const WATCH_SECONDS = 300;
/** A watch that fails this many times in a row (no event between) gives up. */
const WATCH_FAILURES = 5;

/** Events of a watch (`path` with ?watch=1 and its selectors) until the signal aborts: re-opened
 * whenever the server ends it (its timeout, an API server restart), after a second. A re-opened
 * watch starts with ADDED events for what exists, so consumers read events as state. Throws
 * after WATCH_FAILURES failed opens in a row. */
export async function* watchAlways<T>(
  kube: KubeTransport,
  path: string,
  signal: AbortSignal,
  watchSeconds = WATCH_SECONDS,
): AsyncGenerator<WatchEvent<T>> {
  let failures = 0;
  for (;;) {
    try {
      for await (const ev of watchObjects<T>(
        kube,
        `${path}&timeoutSeconds=${watchSeconds}`,
        signal,
      )) {
        failures = 0;
        yield ev;
      }
    } catch (err) {
      if (signal.aborted || ++failures >= WATCH_FAILURES) throw err;
    }
    if (signal.aborted) return;
    await wait(1000, signal);
  }
}

/** Events of one watch request, until the signal aborts or the server ends the stream. */
async function* watchObjects<T>(
  kube: KubeTransport,
  path: string,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const res = await kube.request('GET', path, { signal });
  if (!res.ok || !res.body) throw await refusal(res, 'GET', path);
  const decoder = new TextDecoder();
  let carry = '';
  for await (const chunk of res.body) {
    carry += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = carry.indexOf('\n')) !== -1) {
      const line = carry.slice(0, nl).trim();
      carry = carry.slice(nl + 1);
      if (line !== '') yield JSON.parse(line) as WatchEvent<T>;
    }
  }
}
