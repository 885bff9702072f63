// The one home of the names k6gate writes into and reads from the cluster: the labels and
// annotations on its run objects and pods, and the API collection paths it calls. Every other
// module imports them from here, so a name cannot drift between the writer and the reader.

/** Labels on every object and pod of a pod run, so any replica can find it again. */
export const LABEL = {
  managedBy: 'app.kubernetes.io/managed-by',
  canaryNamespace: 'k6gate.io/canary-namespace',
  canaryName: 'k6gate.io/canary-name',
  phase: 'k6gate.io/phase',
  checksum: 'k6gate.io/checksum',
  runId: 'k6gate.io/run-id',
  /** `baseline` on the primary's run a canary's run is compared with (metadata compare). */
  role: 'k6gate.io/role',
} as const;

/** The value of `app.kubernetes.io/managed-by` on k6gate's objects. */
export const MANAGER = 'k6gate';

export const ANNOTATION = {
  /** When the janitor may delete the run object (ISO time). */
  deadline: 'k6gate.io/deadline',
  /** A stateful hook's recorded verdict (JSON), read by any replica. */
  verdict: 'k6gate.io/verdict',
  /** HMAC of the run object's namespace, name and run id: k6gate made it (pods/signature.ts). */
  signature: 'k6gate.io/signature',
  /** HMAC of the same and the recorded verdict. */
  verdictSignature: 'k6gate.io/verdict-signature',
} as const;

const ns = (namespace: string) => encodeURIComponent(namespace);

/** API collection paths in one namespace. */
export const COLLECTION = {
  jobs: (namespace: string) => `/apis/batch/v1/namespaces/${ns(namespace)}/jobs`,
  testRuns: (namespace: string) => `/apis/k6.io/v1alpha1/namespaces/${ns(namespace)}/testruns`,
  pods: (namespace: string) => `/api/v1/namespaces/${ns(namespace)}/pods`,
  configMaps: (namespace: string) => `/api/v1/namespaces/${ns(namespace)}/configmaps`,
  secrets: (namespace: string) => `/api/v1/namespaces/${ns(namespace)}/secrets`,
  events: (namespace: string) => `/api/v1/namespaces/${ns(namespace)}/events`,
} as const;

/** `?labelSelector=` text for label equalities, encoded. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return encodeURIComponent(
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );
}

// A label value: at most 63 characters; a longer one is cut and suffixed with a digest.
function labelSafe(value: string): string {
  if (value.length <= 63) return value;
  const digest = new Bun.CryptoHasher('sha256').update(value).digest('hex').slice(0, 12);
  return `${value.slice(0, 50)}-${digest}`;
}

/** The labels naming a canary's hook run: namespace, name, phase and checksum, label-safe. */
export function runLabels(canary: {
  namespace: string;
  name: string;
  phase: string;
  checksum: string;
}): Record<string, string> {
  const checksum = canary.checksum
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return {
    [LABEL.managedBy]: MANAGER,
    [LABEL.canaryNamespace]: canary.namespace,
    [LABEL.canaryName]: labelSafe(canary.name),
    [LABEL.phase]: labelSafe(canary.phase),
    [LABEL.checksum]: labelSafe(checksum),
  };
}
