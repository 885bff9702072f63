// The Helm chart: lint and render every ci values file, reject typos through the schema, and
// check what users rely on: restricted security, /tmp, probes, grace period, RBAC, README.

import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChartReadme } from '../../scripts/chart-readme.ts';
import { CHART, describeHelm, helm, renderChart } from '../helpers/helm.ts';

const ciFiles = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const byKind = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);
const container = (objs: any[]) => byKind(objs, 'Deployment')[0].spec.template.spec.containers[0];

describeHelm('helm chart charts/k6gate', () => {
  test('helm lint passes', () => {
    const out = helm(['lint', CHART, '--strict']);
    expect(out.stderr + out.stdout).toContain('0 chart(s) failed');
    expect(out.code).toBe(0);
  });

  test.each(ciFiles)('ci/%s lints and renders', (file) => {
    const values = join(CHART, 'ci', file);
    expect(helm(['lint', CHART, '--strict', '-f', values]).code).toBe(0);
    const out = helm(['template', 'k6gate', CHART, '-f', values]);
    expect(out.code).toBe(0);
    console.log(`helm template ci/${file}: ${out.stdout.length} bytes`);
    expect(out.stdout).toContain('kind: Deployment');
  });

  test('the values schema rejects a misspelt key', () => {
    const out = helm(['template', 'k6gate', CHART, '--set', 'confg.port=9000']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("additional properties 'confg' not allowed");
    const nested = helm(['template', 'k6gate', CHART, '--set', 'kubernetes.rabc=cluster']);
    expect(nested.code).not.toBe(0);
    const overTmp = helm([
      'template',
      'k6gate',
      CHART,
      '--set',
      'extraVolumeMounts[0].name=x,extraVolumeMounts[0].mountPath=/tmp',
    ]);
    expect(overTmp.stderr).toContain('/extraVolumeMounts/0/mountPath');
  });

  test('Chart.yaml requires Kubernetes >= 1.25 (helm built with its real default version)', () => {
    expect(helm(['template', 'k6gate', CHART, '--kube-version', '1.24.0']).code).not.toBe(0);
    expect(helm(['template', 'k6gate', CHART]).code).toBe(0);
  });

  test('extra volumes, mounts and init containers go beside /tmp, not instead of it', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/existing-secret-values.yaml')]);
    const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
    expect(pod.volumes.map((v: { name: string }) => v.name)).toEqual(['tmp', 'proxy-ca']);
    expect(container(objs).volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'proxy-ca', mountPath: '/etc/k6gate/ca', readOnly: true },
    ]);
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['wait-for-proxy']);
    expect(
      byKind(renderChart(), 'Deployment')[0].spec.template.spec.initContainers,
    ).toBeUndefined();
  });

  test('restricted security context, /tmp emptyDir, probes on the named port', () => {
    const objs = renderChart();
    const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(objs).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } });
    expect(container(objs).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(container(objs).livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container(objs).readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container(objs).ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('terminationGracePeriodSeconds exceeds the kill grace', () => {
    for (const grace of [15, 45]) {
      const objs = renderChart(['--set', `config.killGracePeriodSeconds=${grace}`]);
      const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);
      const env = container(objs).env as { name: string; value?: string }[];
      expect(env.find((e) => e.name === 'KILL_GRACE_PERIOD')?.value).toBe(`${grace}s`);
    }
  });

  test('tokens come from a Secret by reference, never inline', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/existing-secret-values.yaml')]);
    const env = container(objs).env as any[];
    expect(env.find((e) => e.name === 'SLACK_TOKEN').valueFrom.secretKeyRef).toEqual({
      name: 'k6gate-tokens',
      key: 'slack',
      optional: true,
    });
    expect(byKind(objs, 'ConfigMap')).toEqual([]);
    expect(byKind(objs, 'Secret')).toEqual([]);
    const created = renderChart(['-f', join(CHART, 'ci/created-secret-values.yaml')]);
    expect(byKind(created, 'Secret')[0].type).toBe('Opaque');
  });

  test('RBAC: get on secrets only, per namespace or cluster-wide; token mounted only then', () => {
    const ns = renderChart(['-f', join(CHART, 'ci/rbac-namespaced-values.yaml')]);
    const roles = byKind(ns, 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(roles[0].rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    expect(byKind(ns, 'RoleBinding')).toHaveLength(2);
    expect(byKind(ns, 'Deployment')[0].spec.template.spec.automountServiceAccountToken).toBe(true);
    expect((container(ns).env as any[]).find((e) => e.name === 'KUBERNETES_CLIENT').value).toBe(
      'in-cluster',
    );
    const cluster = renderChart(['-f', join(CHART, 'ci/rbac-cluster-values.yaml')]);
    expect(byKind(cluster, 'ClusterRole')[0].rules[0].verbs).toEqual(['get']);
    expect(byKind(renderChart(), 'Role')).toEqual([]);
  });
});

test('the chart README values table matches values.yaml (bun scripts/chart-readme.ts)', () => {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  expect(renderChartReadme(readme, readFileSync(join(CHART, 'values.yaml'), 'utf8'))).toBe(readme);
  for (const key of [
    'config.maxConcurrentTests',
    'kubernetes.secretNamespaces',
    'secrets.existingSecret',
  ]) {
    expect(readme).toContain(`\`${key}\``);
  }
});
