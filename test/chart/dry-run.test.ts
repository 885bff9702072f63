// The rendered chart (every ci values file) and example/ pass a server-side dry run against a
// real kube-apiserver with Flagger's CRDs, in a namespace enforcing the `restricted` Pod
// Security level, with no warnings. ServiceMonitor and PrometheusRule are skipped: their CRDs
// (Prometheus Operator) are not among the pinned ones.

import { beforeAll, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART, describeHelm, helm, REPO, renderChart } from '../helpers/helm.ts';
import { describeKube, getKubeEnv, type KubeEnv } from '../helpers/kube-apiserver.ts';

const RESOURCES: Record<string, { path: string; plural: string; namespaced: boolean }> = {
  Namespace: { path: '/api/v1', plural: 'namespaces', namespaced: false },
  // The `helm test` Pod: restricted like the rest.
  Pod: { path: '/api/v1', plural: 'pods', namespaced: true },
  Deployment: { path: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  Service: { path: '/api/v1', plural: 'services', namespaced: true },
  ServiceAccount: { path: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Secret: { path: '/api/v1', plural: 'secrets', namespaced: true },
  ConfigMap: { path: '/api/v1', plural: 'configmaps', namespaced: true },
  Role: { path: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: {
    path: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'rolebindings',
    namespaced: true,
  },
  ClusterRole: {
    path: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'clusterroles',
    namespaced: false,
  },
  ClusterRoleBinding: {
    path: '/apis/rbac.authorization.k8s.io/v1',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  PodDisruptionBudget: {
    path: '/apis/policy/v1',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  NetworkPolicy: {
    path: '/apis/networking.k8s.io/v1',
    plural: 'networkpolicies',
    namespaced: true,
  },
  Canary: { path: '/apis/flagger.app/v1beta1', plural: 'canaries', namespaced: true },
};
const SKIPPED_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);

/** POSTs with dryRun=All; returns the status and the Warning headers. */
async function dryRun(env: KubeEnv, obj: any, namespace: string) {
  const r = RESOURCES[obj.kind];
  if (!r) throw new Error(`no resource mapping for ${obj.kind}`);
  if (r.namespaced) obj.metadata.namespace = namespace;
  const url = `${env.server}${r.path}${r.namespaced ? `/namespaces/${namespace}` : ''}/${r.plural}?dryRun=All&fieldValidation=Strict`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env.adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(obj),
    tls: { ca: readFileSync(env.caFile, 'utf8') },
  } as RequestInit);
  return { status: res.status, warning: res.headers.get('warning'), body: await res.text() };
}

/** Created (201) by the dry run, with no warning (PodSecurity warns on workload templates). */
async function expectAccepted(env: KubeEnv, obj: any, namespace: string) {
  const res = await dryRun(env, obj, namespace);
  expect({ kind: obj.kind, status: res.status, body: res.status >= 300 ? res.body : '' }).toEqual({
    kind: obj.kind,
    status: 201,
    body: '',
  });
  expect({ kind: obj.kind, warning: res.warning }).toEqual({ kind: obj.kind, warning: null });
}

describeKube('server-side dry run', () => {
  let env: KubeEnv;
  let ns: string;
  beforeAll(async () => {
    env = await getKubeEnv();
    ns = await env.createNamespace('dryrun', {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  }, 120_000);

  describeHelm('chart', () => {
    const valuesFiles = [
      ...readdirSync(join(CHART, 'ci'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `charts/k6gate/ci/${f}`),
      'example/helm/k6gate-values.yaml',
    ];
    test.each(valuesFiles)(
      '%s is accepted, restricted, without warnings',
      async (relative) => {
        const file = join(REPO, relative);
        const objs = renderChart([
          '--namespace',
          ns,
          '-f',
          file,
          // Roles go to namespaces that exist in the test API server.
          ...(readFileSync(file, 'utf8').includes('secretNamespaces')
            ? ['--set', `kubernetes.secretNamespaces={${ns}}`]
            : []),
        ]);
        for (const obj of objs) {
          if (SKIPPED_KINDS.has(obj.kind)) continue;
          await expectAccepted(env, obj, ns);
        }
      },
      30_000,
    );

    test('the check can fail: a pod template without the security context draws a warning', async () => {
      const deployment = renderChart(['--namespace', ns]).find((o) => o.kind === 'Deployment');
      delete deployment.spec.template.spec.containers[0].securityContext;
      const res = await dryRun(env, deployment, ns);
      expect(res.warning).toContain('would violate PodSecurity');
    }, 30_000);

    test('helm install --dry-run=server prints the webhook URL', () => {
      const out = helm([
        'install',
        'k6gate',
        CHART,
        '--dry-run=server',
        '--namespace',
        ns,
        '--kubeconfig',
        env.adminKubeconfig,
      ]);
      expect(out.stderr).toBe('');
      expect(out.stdout).toContain(`url: http://k6gate.${ns}:8000/launch-test`);
    }, 30_000);
  });

  // What `kubectl apply -k example/` applies: kustomize (built from its Go module) renders it.
  const kustomize = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'kustomize'], {
    env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
  })
    .stdout.toString()
    .trim();
  const applied = () => {
    const out = Bun.spawnSync([kustomize, 'build', join(REPO, 'example')]);
    if (out.exitCode !== 0) throw new Error(`kustomize build example/: ${out.stderr.toString()}`);
    return parseAllDocuments(out.stdout.toString()).map((d) => d.toJSON());
  };
  test.skipIf(!kustomize)(
    'kubectl apply -k example/: every object admitted (restricted, no warnings), one Canary per Deployment',
    async () => {
      const objs = applied();
      const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      console.log(`kustomize build example/: ${kinds.join(', ')}`);
      const targets = objs.filter((o) => o.kind === 'Canary').map((o) => o.spec.targetRef.name);
      const deployments = objs.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
      expect(targets.sort()).toEqual(deployments.sort());
      expect(new Set(targets).size).toBe(targets.length);
      for (const obj of objs) {
        if (obj.kind === 'Namespace') obj.metadata.name = `${ns}-x`;
        await expectAccepted(env, obj, ns);
      }
    },
    // A real API server on a machine other tests load: a CI run took 7.4 s here (36 ms idle).
    30_000,
  );
});
