// kubernetes_secrets against a real kube-apiserver (RBAC on): reads in the canary's namespace
// and another one, not found, missing key, RBAC denial, one GET per secret, an unreachable or
// stopped API server (503), and values that reach k6 but never a log line or an answer.

import { beforeAll, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadRequest, Upstream } from '../../src/core/errors.ts';
import { parseSecretRef } from '../../src/flagger/payload.ts';
import { createKubeTransport, type KubeTransport, loadKubeConfig } from '../../src/kube/client.ts';
import { createKubeSecretSource } from '../../src/kube/secrets.ts';
import {
  createCapturingLogger,
  flaggerPayload,
  postLaunch,
  startChildDaemon,
  startInProcess,
} from '../helpers/daemon.ts';
import {
  DAEMON_USER,
  describeKube,
  getKubeEnv,
  type KubeEnv,
  startKubeEnv,
} from '../helpers/kube-apiserver.ts';

const VALUE = 'v3ry-s3cret-value';
const OTHER_VALUE = 'another-secret-value';
const sha = (v: string) => createHash('sha256').update(v).digest('hex');

// The real transport, counting every request it makes.
function countCalls(real: KubeTransport) {
  let n = 0;
  const counting: KubeTransport = {
    server: real.server,
    get: (path, signal) => (n++, real.get(path, signal)),
    request: (method, path, init) => (n++, real.request(method, path, init)),
  };
  return { counting, calls: () => n };
}

describeKube('kubernetes_secrets against a real API server', () => {
  let env: KubeEnv;
  let canaryNs: string;
  let otherNs: string;
  let deniedNs: string;
  let transport: KubeTransport;
  const { logger, lines } = createCapturingLogger();

  beforeAll(async () => {
    env = await getKubeEnv();
    canaryNs = await env.createNamespace('canary');
    otherNs = await env.createNamespace('shared');
    deniedNs = await env.createNamespace('denied');
    await env.createSecret(canaryNs, 'load-test', { token: VALUE, other: 'x' });
    await env.createSecret(otherNs, 'cloud', { K6_CLOUD_TOKEN: OTHER_VALUE });
    await env.createSecret(deniedNs, 'private', { key: 'never' });
    await env.grantSecretRead(canaryNs);
    await env.grantSecretRead(otherNs);
    const kc = loadKubeConfig('kubeconfig', env.daemonKubeconfig);
    if (!kc) throw new Error('no kubeconfig');
    transport = createKubeTransport(kc);
  }, 120_000);

  const source = (t = transport, timeoutMs = 5000) =>
    createKubeSecretSource(t, { timeoutMs, logger });
  const refs = (map: Record<string, string>) =>
    Object.entries(map).map(([k, v]) => parseSecretRef(k, v, canaryNs));
  async function refusal(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected a refusal');
  }

  test('reads in the canary namespace (secret/key) and another (ns/secret/key)', async () => {
    const values = await source().resolve(
      refs({ A: 'load-test/token', B: `${otherNs}/cloud/K6_CLOUD_TOKEN` }),
    );
    expect(values).toEqual({ A: VALUE, B: OTHER_VALUE });
  });

  test('one GET per secret, not per key', async () => {
    const { counting, calls } = countCalls(transport);
    const values = await source(counting).resolve(
      refs({ A: 'load-test/token', B: 'load-test/other', C: 'load-test/token' }),
    );
    expect(values).toEqual({ A: VALUE, B: 'x', C: VALUE });
    expect(calls()).toBe(1);
  });

  test('in-cluster mode: the service-account token file and CA, as in a pod', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'k6gate-sa-'));
    const saDir = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token'), env.daemonToken);
    copyFileSync(env.caFile, join(saDir, 'ca.crt'));
    writeFileSync(join(saDir, 'namespace'), canaryNs);
    const url = new URL(env.server);
    const saved = {
      host: process.env.KUBERNETES_SERVICE_HOST,
      port: process.env.KUBERNETES_SERVICE_PORT,
    };
    process.env.KUBERNETES_SERVICE_HOST = url.hostname;
    process.env.KUBERNETES_SERVICE_PORT = url.port;
    try {
      const kc = loadKubeConfig('in-cluster', undefined, prefix);
      if (!kc) throw new Error('no in-cluster config');
      const values = await source(createKubeTransport(kc)).resolve(refs({ A: 'load-test/token' }));
      expect(values).toEqual({ A: VALUE });
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.host;
      process.env.KUBERNETES_SERVICE_PORT = saved.port;
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      rmSync(prefix, { recursive: true, force: true });
    }
  });

  test('a missing secret: 400 naming ns/name', async () => {
    const err = await refusal(source().resolve(refs({ A: 'nope/token' })));
    expect(err).toBeInstanceOf(BadRequest);
    expect(err.message).toBe(`error fetching secret ${canaryNs}/nope: secrets "nope" not found`);
  });

  test('a missing key: 400 naming the key', async () => {
    const err = await refusal(source().resolve(refs({ A: 'load-test/absent' })));
    expect(err).toBeInstanceOf(BadRequest);
    expect(err.message).toBe(`secret ${canaryNs}/load-test does not have key absent`);
  });

  test('RBAC denial: 400 naming identity, verb, resource, namespace and the missing Role', async () => {
    const err = await refusal(source().resolve(refs({ A: `${deniedNs}/private/key` })));
    expect(err).toBeInstanceOf(BadRequest);
    expect(err.message).toContain(`User "${DAEMON_USER}" cannot get resource "secrets"`);
    expect(err.message).toContain(`namespace "${deniedNs}"`);
    expect(err.message).toContain('Role and a RoleBinding');
    expect(err.message).not.toContain('never');
  });

  test('an unreachable API server (nothing listening): 503 (Upstream), quickly', async () => {
    const kc = loadKubeConfig('kubeconfig', env.daemonKubeconfig);
    if (!kc) throw new Error('no kubeconfig');
    const closedPort = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    const port = closedPort.port;
    closedPort.stop(true);
    kc.clusters[0] = { ...kc.clusters[0]!, server: `https://127.0.0.1:${port}` };
    const t0 = performance.now();
    const err = await refusal(
      source(createKubeTransport(kc), 2000).resolve(refs({ A: 'load-test/token' })),
    );
    expect(err).toBeInstanceOf(Upstream);
    expect((err as Upstream).status).toBe(503);
    expect(err.message).toContain('kubernetes API unreachable');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test('an API server that accepts but never answers: 503 after SECRETS_TIMEOUT', async () => {
    const kc = loadKubeConfig('kubeconfig', env.daemonKubeconfig);
    if (!kc) throw new Error('no kubeconfig');
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      kc.clusters[0] = { ...kc.clusters[0]!, server: `https://127.0.0.1:${silent.port}` };
      const t0 = performance.now();
      const err = await refusal(
        source(createKubeTransport(kc), 800).resolve(refs({ A: 'load-test/token' })),
      );
      expect(err).toBeInstanceOf(Upstream);
      expect(err.message).toContain('no answer within 800 ms');
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      silent.stop(true);
    }
  });

  test('an API server stopped mid-suite: 503 with Retry-After through the daemon', async () => {
    const private_ = await startKubeEnv();
    const ns = await private_.createNamespace('gone');
    await private_.createSecret(ns, 's', { k: 'v' });
    await private_.grantSecretRead(ns);
    const kc = loadKubeConfig('kubeconfig', private_.daemonKubeconfig);
    if (!kc) throw new Error('no kubeconfig');
    const d = startInProcess({
      secrets: createKubeSecretSource(createKubeTransport(kc), { timeoutMs: 3000, logger }),
    });
    try {
      const body = flaggerPayload(
        {
          script: '// k6-double: mode=pass duration=0s\nexport default function () {}\n',
          kubernetes_secrets: JSON.stringify({ K: 's/k' }),
        },
        { namespace: ns },
      );
      expect((await postLaunch(d.url, body)).status).toBe(200);
      await private_.stop();
      const res = await postLaunch(d.url, body);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.text()).toContain('kubernetes API unreachable');
      // Not the canary's fault: no failure-cache entry, so a retry is not refused as "recent".
      expect(d.daemon.failures.size()).toBe(0);
    } finally {
      await d.close();
      await private_.stop();
    }
  }, 120_000);

  test('values reach k6 (as digests) and never a log line or an answer; daemon secrets do not', async () => {
    const d = startInProcess({
      secrets: source(),
      env: { SLACK_TOKEN: 'xoxb-daemon', K6_CLOUD_TOKEN: 'daemon-cloud-token' },
      args: ['--cloud-token', 'daemon-cloud-token', '--secrets-namespaces', otherNs],
    });
    try {
      const res = await postLaunch(
        d.url,
        flaggerPayload(
          {
            script:
              '// k6-double: mode=pass duration=0s report-env=A,SLACK_TOKEN,K6_CLOUD_TOKEN\nexport default function () {}\n',
            env_vars: JSON.stringify({ A: 'from-env-vars' }),
            kubernetes_secrets: JSON.stringify({ A: 'load-test/token' }),
          },
          { namespace: canaryNs },
        ),
      );
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toContain(`k6-double env A sha256=${sha(VALUE)}`); // the secret wins over env_vars
      expect(text).toContain('k6-double env SLACK_TOKEN unset');
      expect(text).toContain('k6-double env K6_CLOUD_TOKEN unset'); // not uploading
      expect(text).not.toContain(VALUE);
      expect(d.lines.join('')).not.toContain(VALUE);
    } finally {
      await d.close();
    }
    expect(lines.join('')).not.toContain(VALUE);
  }, 30_000);

  test("another namespace's secret: 403 before any API call, unless --secrets-namespaces lists it", async () => {
    const { counting, calls } = countCalls(transport);
    const payload = (name: string) =>
      flaggerPayload(
        {
          script: '// k6-double: mode=pass duration=0s\nexport default function () {}\n',
          kubernetes_secrets: JSON.stringify({ TOKEN: `${otherNs}/cloud/K6_CLOUD_TOKEN` }),
        },
        { namespace: canaryNs, name },
      );
    await using closed = startInProcess({ secrets: source(counting) });
    const res = await postLaunch(closed.url, payload('confused-deputy'));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(
      `error while authorizing request: metadata.kubernetes_secrets.TOKEN: secrets may only come from the canary's namespace "${canaryNs}", not "${otherNs}" (see --secrets-namespaces)\n`,
    );
    expect(calls()).toBe(0);
    expect(closed.daemon.failures.size()).toBe(0);
    const open = startInProcess({
      secrets: source(counting),
      args: ['--secrets-namespaces', 'shared-*,nothing'],
    });
    try {
      expect((await postLaunch(open.url, payload('listed'))).status).toBe(200);
      expect(calls()).toBe(1);
    } finally {
      await open.close();
    }
  }, 30_000);

  test('at most --max-secret-refs references; more is a 400 with no API call', async () => {
    await using d = startInProcess({ secrets: source(), args: ['--max-secret-refs', '2'] });
    const three = Object.fromEntries(['A', 'B', 'C'].map((k) => [k, `load-test/token`]));
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script: 'export default function () {}', kubernetes_secrets: JSON.stringify(three) },
        { namespace: canaryNs },
      ),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(
      'metadata.kubernetes_secrets: 3 secret references; at most 2 are allowed (--max-secret-refs)',
    );
  }, 30_000);

  test('a per-run K6_CLOUD_TOKEN from a secret, with the compiled daemon and KUBERNETES_CLIENT=kubeconfig', async () => {
    const d = await startChildDaemon({
      compiled: true,
      env: {
        KUBERNETES_CLIENT: 'kubeconfig',
        KUBECONFIG: env.daemonKubeconfig,
        SECRETS_NAMESPACES: `${otherNs},${deniedNs}`,
        // Local runs beside a Kubernetes client are the operator's explicit choice.
        RUNNERS_ALLOWED: 'local',
      },
    });
    try {
      const res = await postLaunch(
        d.url,
        flaggerPayload(
          {
            script:
              '// k6-double: mode=pass duration=0s report-env=K6_CLOUD_TOKEN\nexport default function () {}\n',
            upload_to_cloud: 'true',
            kubernetes_secrets: JSON.stringify({
              K6_CLOUD_TOKEN: `${otherNs}/cloud/K6_CLOUD_TOKEN`,
            }),
          },
          { namespace: canaryNs },
        ),
      );
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toMatch(/output: cloud \(https:\/\/app\.k6\.io\/runs\/\d+\)/);
      expect(text).toContain(`k6-double env K6_CLOUD_TOKEN sha256=${sha(OTHER_VALUE)}`);
      expect(JSON.stringify(d.logs)).not.toContain(OTHER_VALUE);
      const denied = await postLaunch(
        d.url,
        flaggerPayload(
          {
            script: 'export default function () {}',
            kubernetes_secrets: JSON.stringify({ X: `${deniedNs}/private/key` }),
          },
          { namespace: canaryNs, name: 'denied' },
        ),
      );
      expect(denied.status).toBe(400);
      expect(await denied.text()).toContain(`cannot get resource "secrets"`);
    } finally {
      await d.stop();
    }
  }, 60_000);
});

test('KUBERNETES_CLIENT modes: none gives no config; in-cluster outside a cluster is a clear error', () => {
  expect(loadKubeConfig('none')).toBeUndefined();
  const saved = {
    host: process.env.KUBERNETES_SERVICE_HOST,
    port: process.env.KUBERNETES_SERVICE_PORT,
  };
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  try {
    expect(() => loadKubeConfig('in-cluster')).toThrow();
  } finally {
    if (saved.host) process.env.KUBERNETES_SERVICE_HOST = saved.host;
    if (saved.port) process.env.KUBERNETES_SERVICE_PORT = saved.port;
  }
});
