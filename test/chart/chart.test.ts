// The Helm chart: lint and render every ci values file, reject typos through the schema, and
// check what users rely on: restricted security, /tmp, probes, grace period, RBAC, README.

import { expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAuthFile } from '../../src/auth/clients.ts';
import { SETTINGS } from '../../src/config/settings.ts';
import { configFrom } from '../helpers/config.ts';
import { createScriptedRunner } from '../helpers/scripted-runner.ts';
import { CHART, describeHelm, helm, renderChart, renderNotes } from '../helpers/helm.ts';
import { buildTestDaemon, REPO } from '../helpers/daemon.ts';
import {
  CANARY_EVENT_RULES,
  RUNNER_RULES,
  SCRIPT_CONFIGMAP_RULES,
} from '../helpers/runner-rbac.ts';

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
    expect(pod.volumes.map((v: { name: string }) => v.name)).toEqual([
      'tmp',
      'store',
      'tokens',
      'proxy-ca',
    ]);
    expect(container(objs).volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'store', mountPath: '/var/lib/k6gate' },
      { name: 'tokens', mountPath: '/var/run/secrets/k6gate/tokens', readOnly: true },
      { name: 'proxy-ca', mountPath: '/etc/k6gate/ca', readOnly: true },
    ]);
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['wait-for-proxy']);
    expect(
      byKind(renderChart(), 'Deployment')[0].spec.template.spec.initContainers,
    ).toBeUndefined();
  });

  test('store: SQLite on its own volume by default (an existing claim if given), memory on request; several replicas refuse SQLite', () => {
    const env = (objs: ReturnType<typeof renderChart>) =>
      Object.fromEntries(
        (container(objs).env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
      );
    const volume = (objs: ReturnType<typeof renderChart>) =>
      byKind(objs, 'Deployment')[0].spec.template.spec.volumes.find(
        (v: { name: string }) => v.name === 'store',
      );
    const sqlite = renderChart();
    expect(env(sqlite).STORE).toBe('sqlite:/var/lib/k6gate/k6gate.db');
    expect(volume(sqlite)).toEqual({ name: 'store', emptyDir: { sizeLimit: '64Mi' } });
    const claimed = renderChart(['--set', 'store.sqlite.existingClaim=k6gate-store']);
    expect(volume(claimed)).toEqual({
      name: 'store',
      persistentVolumeClaim: { claimName: 'k6gate-store' },
    });
    const memory = renderChart(['--set', 'store.type=memory', '--set', 'replicaCount=3']);
    expect(env(memory).STORE).toBe('memory');
    expect(volume(memory)).toBeUndefined();
    const shared = renderChart([
      '--set',
      'store.type=postgres',
      '--set',
      'store.postgres.existingSecret=k6gate-store',
      '--set',
      'replicaCount=3',
    ]);
    expect(
      (container(shared).env as { name: string; valueFrom?: unknown }[]).find(
        (e) => e.name === 'STORE',
      )?.valueFrom,
    ).toEqual({ secretKeyRef: { name: 'k6gate-store', key: 'url' } });
    expect(volume(shared)).toBeUndefined();
    const noSecret = helm(['template', 'k6gate', CHART, '--set', 'store.type=postgres']);
    expect(noSecret.stderr).toContain('store.type postgres needs store.postgres.existingSecret');
    const refused = helm(['template', 'k6gate', CHART, '--set', 'replicaCount=2']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('replicaCount');
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

  test('tmpMedium Memory: the run directories on a tmpfs of tmpSizeLimit; anything else refused', () => {
    const pod = byKind(
      renderChart(['--set', 'tmpMedium=Memory', '--set', 'tmpSizeLimit=256Mi']),
      'Deployment',
    )[0].spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'tmp',
      emptyDir: { medium: 'Memory', sizeLimit: '256Mi' },
    });
    const out = helm(['template', 't', CHART, '--set', 'tmpMedium=HugePages']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('tmpMedium');
  });

  test.each([
    ['15s', '10s', 30],
    ['1m', '30s', 95],
  ])(
    'kill grace %s, shutdown %s: the daemon gets the same durations, the pod %i s',
    (grace, shutdown, total) => {
      const objs = renderChart([
        '--set',
        `config.killGracePeriod=${grace}`,
        '--set',
        `config.shutdownTimeout=${shutdown}`,
      ]);
      expect(byKind(objs, 'Deployment')[0].spec.template.spec.terminationGracePeriodSeconds).toBe(
        total,
      );
      const env = container(objs).env as { name: string; value?: string }[];
      expect(env.find((e) => e.name === 'KILL_GRACE_PERIOD')?.value).toBe(grace);
      expect(env.find((e) => e.name === 'SHUTDOWN_TIMEOUT')?.value).toBe(shutdown);
    },
  );

  test('every daemon setting the chart sets is one the daemon knows, with a value it accepts', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/auth-values.yaml')]);
    const env = Object.fromEntries(
      (container(objs).env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value]),
    );
    const known = new Set(SETTINGS.map((s) => s.env));
    for (const name of Object.keys(env))
      expect(known.has(name) ? name : `unknown ${name}`).toBe(name);
    expect(configFrom([], env)).toMatchObject({
      maxOutputBytes: 1024 * 1024, // helm renders big numbers as 1.048576e+06 unless told not to
      maxBodyBytes: 1024 * 1024,
      allowedNamespaces: ['team-*'],
      slackAllowedChannels: ['deploys', 'C0123ABC'],
      secretsNamespaces: ['shared-secrets'],
      maxSecretRefs: 32,
      secretsTimeoutMs: 10_000,
      authFile: '/var/run/secrets/k6gate/auth/auth.yaml',
      slackTokenFile: '/var/run/secrets/k6gate/tokens/slack-token',
      cloudTokenFile: '',
    });
  });

  test('tokens are files from a mounted Secret, never environment values', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/existing-secret-values.yaml')]);
    const env = container(objs).env as any[];
    expect(env.find((e) => e.name === 'SLACK_TOKEN_FILE').value).toBe(
      '/var/run/secrets/k6gate/tokens/slack',
    );
    expect(env.find((e) => e.name === 'K6_CLOUD_TOKEN_FILE').value).toBe(
      '/var/run/secrets/k6gate/tokens/cloud',
    );
    expect(
      env.filter((e) => e.name === 'SLACK_TOKEN' || e.name === 'K6_CLOUD_TOKEN' || e.valueFrom),
    ).toEqual([]);
    const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
    // Optional: a Secret without a key (or not made yet) turns that feature off, and the pod
    // still starts (k6gate warns; test/e2e/compiled.test.ts).
    expect(pod.volumes.find((v: any) => v.name === 'tokens').secret).toEqual({
      secretName: 'k6gate-tokens',
      optional: true,
      defaultMode: 0o440,
    });
    expect(container(objs).volumeMounts).toContainEqual({
      name: 'tokens',
      mountPath: '/var/run/secrets/k6gate/tokens',
      readOnly: true,
    });
    expect(byKind(objs, 'ConfigMap')).toEqual([]);
    expect(byKind(objs, 'Secret')).toEqual([]);
    const created = renderChart(['-f', join(CHART, 'ci/created-secret-values.yaml')]);
    expect(byKind(created, 'Secret')[0].type).toBe('Opaque');
    // Only the token that has a value gets a file setting.
    expect((container(created).env as any[]).map((e) => e.name)).toContain('SLACK_TOKEN_FILE');
    expect((container(created).env as any[]).map((e) => e.name)).not.toContain(
      'K6_CLOUD_TOKEN_FILE',
    );
  });

  test('auth: the created Secret holds the auth file; AUTH_FILE points at its mount', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/auth-values.yaml')]);
    const secret = byKind(objs, 'Secret').find((s) => s.metadata.name.endsWith('-auth'));
    const text = secret.stringData['auth.yaml'] as string;
    const clients = parseAuthFile(text);
    expect(clients.map((c) => c.client.name)).toEqual(['team-a']);
    expect(clients[0]?.client.mayUse('team-a-dev')).toBe(true);
    // Hashes only: the token itself is nowhere in the Secret a local script could read.
    expect(text).toContain('token_sha256:');
    expect(text).not.toMatch(/^\s*token:/m);
    expect(
      byKind(objs, 'Deployment')[0].spec.template.metadata.annotations['checksum/secret'],
    ).toMatch(/^[a-f0-9]{64}$/);
    expect(byKind(renderChart(), 'Secret')).toEqual([]);
  });

  test('tenancy: pod runners enabled leave local out; the run-signing key is a Secret mounted as a file', () => {
    const env = (objs: any[]) =>
      Object.fromEntries((container(objs).env as any[]).map((e) => [e.name, e.value]));
    const local = env(renderChart());
    expect([local.RUNNER, local.RUNNERS_ALLOWED, local.RUN_SIGNING_KEY_FILE]).toEqual([
      'local',
      'local',
      undefined,
    ]);
    const pods = renderChart([
      '--set',
      'kubernetes.enabled=true',
      '--set',
      'runners.enabled={job}',
      '--set',
      'runners.namespaces={t}',
    ]);
    expect([env(pods).RUNNER, env(pods).RUNNERS_ALLOWED]).toEqual(['job', 'job']);
    expect(env(pods).RUN_SIGNING_KEY_FILE).toBe('/var/run/secrets/k6gate/run-signing/key');
    const key = byKind(pods, 'Secret').find((s) => s.metadata.name.endsWith('-run-signing'));
    expect(Buffer.from(key.data.key, 'base64').length).toBeGreaterThanOrEqual(32);
  });

  test("NetworkPolicy on by default: Flagger's namespaces, Prometheus with the ServiceMonitor, never no source", () => {
    const ingress = (args: string[]) => byKind(renderChart(args), 'NetworkPolicy')[0].spec.ingress;
    const ns = (name: string) => ({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
    });
    const helmTest = {
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/instance': 'k6gate',
          'app.kubernetes.io/component': 'helm-test',
        },
      },
    };
    expect(ingress([])).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }], from: [ns('flagger-system'), helmTest] },
    ]);
    // Flagger installed with Istio, and a CI namespace beside it.
    expect(
      ingress([
        '--set-json',
        'networkPolicy.flaggerNamespaces=["istio-system"]',
        '--set-json',
        'networkPolicy.from=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ci"}}}]',
      ])[0].from,
    ).toEqual([ns('istio-system'), ns('ci'), helmTest]);
    // The ServiceMonitor's scrapes come through.
    expect(ingress(['--set', 'serviceMonitor.enabled=true'])[0].from).toEqual([
      ns('flagger-system'),
      {
        namespaceSelector: {},
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
      helmTest,
    ]);
    // `helm test` asks /healthz and /readyz through the Service, as a restricted Pod.
    const testPod = renderChart(['--show-only', 'templates/tests/healthz.yaml'])[0];
    expect(testPod.metadata.annotations['helm.sh/hook']).toBe('test');
    expect(testPod.metadata.labels['app.kubernetes.io/component']).toBe('helm-test');
    expect(testPod.spec.containers[0].command.at(-1)).toContain('http://k6gate:8000/readyz');
    expect(testPod.spec.securityContext.runAsNonRoot).toBe(true);
    const none = helm(['template', 't', CHART, '--set-json', 'networkPolicy.flaggerNamespaces=[]']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('networkPolicy needs at least one source');
    for (const bad of [
      ['--set-json', 'networkPolicy.from=[{}]'],
      ['--set-json', 'networkPolicy.flaggerNamespaces=["Not A Namespace"]'],
    ]) {
      expect(helm(['template', 't', CHART, ...bad]).code).not.toBe(0);
    }
    // NOTES says what is admitted and how to check it.
    const notes = renderNotes(['-n', 'flagger-system']);
    expect(notes).toContain('pods in namespace flagger-system (Flagger)');
    expect(notes).toContain(
      'kubectl -n flagger-system run k6gate-check --rm -i --restart=Never --image=busybox:1.37 -- wget -qO- -T 5 http://k6gate.flagger-system:8000/healthz',
    );
  });

  test('remote write: headers, native histograms and the bearer token file from the tokens Secret', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/observability-values.yaml')]);
    const env = Object.fromEntries(
      (container(objs).env as any[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      PROMETHEUS_RW_URL: 'http://mimir-gateway.monitoring/api/v1/push',
      PROMETHEUS_RW_HEADERS: 'X-Scope-OrgID:team-a',
      PROMETHEUS_RW_NATIVE_HISTOGRAMS: 'true',
      PROMETHEUS_RW_BEARER_TOKEN_FILE: '/var/run/secrets/k6gate/tokens/remote-write-token',
    });
    // The daemon reads that list as it reads the variable (one parser for both).
    expect(
      configFrom([], { PROMETHEUS_RW_HEADERS: env.PROMETHEUS_RW_HEADERS }).prometheusRwHeaders,
    ).toEqual({
      'X-Scope-OrgID': 'team-a',
    });
    const bad = helm([
      'template',
      't',
      CHART,
      '--set-json',
      'config.prometheusRwHeaders={"X-A":"a,b"}',
    ]);
    expect(bad.code).not.toBe(0);
  });

  test("dashboard and alerts use only metrics k6gate serves, under the ServiceMonitor's job", async () => {
    const objs = renderChart(['-f', join(CHART, 'ci/observability-values.yaml')]);
    const dashboardMap = byKind(objs, 'ConfigMap').find(
      (c) => c.metadata.name === 'k6gate-dashboard',
    );
    expect(dashboardMap.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(dashboardMap.data['k6gate.json']);
    const rules = byKind(objs, 'PrometheusRule')[0].spec.groups[0].rules as any[];
    expect(rules.map((r) => r.alert)).toEqual([
      'K6gateLoadTestsFailing',
      'K6gateUnavailable',
      'K6gateSaturated',
      'K6gateDown',
    ]);
    const exprs = [
      ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr as string)),
      ...dashboard.templating.list.filter((v: any) => v.type === 'query').map((v: any) => v.query),
      ...rules.map((r) => r.expr as string),
    ];
    // What a daemon serves after a run (families and histogram series), plus Prometheus's `up`.
    const { daemon } = buildTestDaemon({ runner: createScriptedRunner().runner });
    const text = await (await daemon.app.handle(new Request('http://k6gate/metrics'))).text();
    const served = new Set([
      'up',
      ...[...text.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    ]);
    const used = exprs.flatMap((e) =>
      [...e.matchAll(/([a-z_:][a-z0-9_:]*)\s*[{[]/g)].map((m) => m[1]!),
    );
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((m) => !served.has(m))).toEqual([]);
    // The rules select the ServiceMonitor's job (the Service's name); the rule needs the monitor.
    expect(rules.filter((r) => !r.expr.includes('job="k6gate"'))).toEqual([]);
    const alone = helm(['template', 't', CHART, '--set', 'prometheusRule.enabled=true']);
    expect(alone.stderr).toContain('prometheusRule.enabled needs serviceMonitor.enabled');
  });

  test('tls.existingSecret: the kubernetes.io/tls keys mounted, TLS_* set, probes over HTTPS', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/observability-values.yaml')]);
    const c = container(objs);
    const env = Object.fromEntries((c.env as any[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      TLS_CERT_FILE: '/var/run/secrets/k6gate/tls/tls.crt',
      TLS_KEY_FILE: '/var/run/secrets/k6gate/tls/tls.key',
      TLS_MIN_VERSION: '1.3',
    });
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      expect(c[probe].httpGet.scheme).toBe('HTTPS');
    }
    const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'tls').secret.secretName).toBe('k6gate-tls');
    expect(renderNotes(['-f', join(CHART, 'ci/observability-values.yaml')])).toContain(
      'url: https://k6gate.default:8000/launch-test',
    );
    expect(container(renderChart()).livenessProbe.httpGet.scheme).toBeUndefined();
  });

  test('schema: global, probes, ServiceMonitor options and durations like 1m30s are accepted', () => {
    const objs = renderChart([
      '--set-json',
      'global={"imageRegistry":"registry.example"}',
      '--set',
      'config.killGracePeriod=1m30s,config.shutdownTimeout=1h',
      '--set-json',
      'livenessProbe={"httpGet":{"path":"/healthz","port":"http"},"periodSeconds":30}',
      '--set',
      'serviceMonitor.enabled=true,serviceMonitor.scrapeTimeout=10s,serviceMonitor.honorLabels=true',
    ]);
    const pod = byKind(objs, 'Deployment')[0].spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(90 + 3600 + 5);
    expect(pod.containers[0].livenessProbe.periodSeconds).toBe(30);
    expect(pod.containers[0].startupProbe.httpGet.path).toBe('/healthz');
    const sm = byKind(objs, 'ServiceMonitor')[0];
    expect(sm.spec.endpoints[0]).toMatchObject({ scrapeTimeout: '10s', honorLabels: true });
    expect(helm(['template', 't', CHART, '--set', 'config.killGracePeriod=90']).code).not.toBe(0);
  });

  test('RBAC: get on secrets only, per namespace or cluster-wide; token mounted only then', () => {
    const ns = renderChart(['-f', join(CHART, 'ci/rbac-namespaced-values.yaml')]);
    const roles = byKind(ns, 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(roles[0].rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    const named = byKind(renderChart(['-f', join(CHART, 'ci/auth-values.yaml')]), 'Role');
    expect(named[0].rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['load-test'] },
    ]);
    expect(byKind(ns, 'RoleBinding')).toHaveLength(2);
    expect(byKind(ns, 'Deployment')[0].spec.template.spec.automountServiceAccountToken).toBe(true);
    expect((container(ns).env as any[]).find((e) => e.name === 'KUBERNETES_CLIENT').value).toBe(
      'in-cluster',
    );
    const cluster = renderChart(['-f', join(CHART, 'ci/rbac-cluster-values.yaml')]);
    expect(byKind(cluster, 'ClusterRole')[0].rules[0].verbs).toEqual(['get']);
    expect(byKind(renderChart(), 'Role')).toEqual([]);
    // Secrets are read in the canary's namespace: without secretNamespaces, the runners' ones.
    const viaRunners = byKind(
      renderChart(['--set', 'kubernetes.enabled=true', '--set', 'runners.namespaces={team-c}']),
      'Role',
    ).filter((r) => r.metadata.name.endsWith('-secret-reader'));
    expect(viaRunners.map((r) => r.metadata.namespace)).toEqual(['team-c']);
    expect(renderNotes(['--set', 'kubernetes.enabled=true', '-n', 'flagger-system'])).toContain(
      'kubernetes_secrets can read Secrets in flagger-system only',
    );
  });

  test('canary events: create on Events in the canary namespaces (the right the kube test runs with), only when enabled', () => {
    const on = [
      '--set',
      'kubernetes.enabled=true',
      '--set',
      'kubernetes.canaryEvents.enabled=true',
    ];
    const objs = renderChart([
      ...on,
      '--set-json',
      'kubernetes.canaryEvents.namespaces=["team-a","team-b"]',
    ]);
    const roles = byKind(objs, 'Role').filter((r) => r.metadata.name.endsWith('-canary-events'));
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(roles[0].rules).toEqual(CANARY_EVENT_RULES);
    const cluster = renderChart([...on, '--set', 'kubernetes.rbac=cluster']);
    expect(byKind(cluster, 'ClusterRole').map((r) => r.metadata.name)).toContain(
      'k6gate-canary-events',
    );
    expect(
      byKind(renderChart(['--set', 'kubernetes.enabled=true']), 'Role').some((r) =>
        r.metadata.name.endsWith('-canary-events'),
      ),
    ).toBe(false);
    const out = helm(['template', 't', CHART, '--set', 'kubernetes.canaryEvents.enabled=true']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('kubernetes.canaryEvents.enabled needs kubernetes.enabled=true');
  });

  test('script_configmap: get on ConfigMaps in the canary namespaces (the right the kube test runs with), only when enabled', () => {
    const on = [
      '--set',
      'kubernetes.enabled=true',
      '--set',
      'kubernetes.scriptConfigMaps.enabled=true',
    ];
    const objs = renderChart([
      ...on,
      '--set-json',
      'kubernetes.scriptConfigMaps.namespaces=["team-a","team-b"]',
    ]);
    const roles = byKind(objs, 'Role').filter((r) => r.metadata.name.endsWith('-script-reader'));
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(roles[0].rules).toEqual(SCRIPT_CONFIGMAP_RULES);
    expect(
      byKind(objs, 'RoleBinding').filter((r) => r.metadata.name.endsWith('-script-reader')),
    ).toHaveLength(2);
    const cluster = renderChart([...on, '--set', 'kubernetes.rbac=cluster']);
    expect(byKind(cluster, 'ClusterRole').map((r) => r.metadata.name)).toContain(
      'k6gate-script-reader',
    );
    expect(
      byKind(renderChart(['--set', 'kubernetes.enabled=true']), 'Role').some((r) =>
        r.metadata.name.endsWith('-script-reader'),
      ),
    ).toBe(false);
    const out = helm(['template', 't', CHART, '--set', 'kubernetes.scriptConfigMaps.enabled=true']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      'kubernetes.scriptConfigMaps.enabled needs kubernetes.enabled=true',
    );
  });

  test('runners: RBAC generated from the enabled kinds (the rights the kube tests run with), env for the daemon, bad combinations refused', () => {
    const objs = renderChart(['-f', join(CHART, 'ci/runners-values.yaml')]);
    const roles = byKind(objs, 'Role').filter((r) => r.metadata.name.endsWith('-runner'));
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['team-a', 'team-b']);
    const granted = roles[0].rules;
    for (const rule of [...RUNNER_RULES.job, ...RUNNER_RULES['k6-operator']])
      expect(granted).toContainEqual(rule);
    const env = Object.fromEntries(
      (container(objs).env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      RUNNER: 'job',
      RUNNER_IMAGES_ALLOWED: 'grafana/k6:2.1.0,registry.example/k6:*',
      RUNNER_SERVICE_ACCOUNT: 'k6-runner',
      MAX_PARALLELISM: '20',
      RUNNER_RESOURCES: '{"limits":{"memory":"1Gi"},"requests":{"cpu":"1","memory":"256Mi"}}',
    });
    const onlyJob = renderChart([
      '-f',
      join(CHART, 'ci/runners-values.yaml'),
      '--set-json',
      'runners.enabled=["job"]',
    ]);
    const jobRules = byKind(onlyJob, 'Role').find((r) => r.metadata.name.endsWith('-runner')).rules;
    expect(jobRules.some((r: { apiGroups: string[] }) => r.apiGroups.includes('k6.io'))).toBe(
      false,
    );
    const cluster = renderChart([
      '-f',
      join(CHART, 'ci/runners-values.yaml'),
      '--set',
      'runners.rbac=cluster',
    ]);
    expect(byKind(cluster, 'ClusterRole').map((r) => r.metadata.name)).toContain('k6gate-runner');
    const refused: [string[], string][] = [
      [['--set-json', 'runners.enabled=["job"]'], 'runners.enabled needs kubernetes.enabled=true'],
      [
        ['--set', 'kubernetes.enabled=true', '--set-json', 'runners.enabled=["job"]'],
        'runners.rbac=namespaced needs runners.namespaces',
      ],
      [['--set', 'runners.default=job'], 'runners.default "job" is not in runners.enabled'],
    ];
    for (const [args, message] of refused) {
      const out = helm(['template', 't', CHART, ...args]);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain(message);
    }
  });
});

// helm-docs (scripts/tools helm-docs) renders README.md from README.md.gotmpl and the `# --`
// comments of values.yaml; the committed README must be what it renders.
const helmDocs = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'helm-docs'], {
  env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
  stderr: 'ignore',
})
  .stdout.toString()
  .trim();
if (!helmDocs)
  console.log('SKIP chart README check: helm-docs not built (bash scripts/tools helm-docs)');

test.skipIf(!helmDocs)(
  'the chart README is what helm-docs renders (helm-docs --chart-search-root charts)',
  () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const rendered = Bun.spawnSync([
      helmDocs,
      '--chart-search-root',
      join(REPO, 'charts'),
      '--dry-run',
      '--log-level',
      'error',
    ]);
    expect(rendered.exitCode).toBe(0);
    expect(rendered.stdout.toString().trim()).toBe(readme.trim());
    for (const key of [
      'config.maxConcurrentTests',
      'kubernetes.secretNamespaces',
      'secrets.existingSecret',
    ]) {
      expect(readme).toContain(`| ${key} |`);
    }
    // Every documented key has a row (helm-docs lists what a `# --` comment describes).
    const documented = readFileSync(join(CHART, 'values.yaml'), 'utf8').match(/^\s*# -- /gm) ?? [];
    expect((readme.match(/^\| [a-zA-Z]/gm) ?? []).length).toBeGreaterThanOrEqual(documented.length);
  },
);
