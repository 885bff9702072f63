// A real Kubernetes API for tests: etcd + kube-apiserver built from Go modules by
// scripts/kube-env (cached outside the repo), started on 127.0.0.1 with free ports, static
// token auth (an admin in system:masters and a restricted daemon user `k6gate`), RBAC and
// PodSecurity admission, the pinned CRDs from k8s/crds installed. One instance is
// shared by the whole test run (getKubeEnv); tests isolate themselves by namespace.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe } from 'bun:test';
import { parseAllDocuments } from 'yaml';
import { freePort } from './ports.ts';

const REPO = resolve(import.meta.dir, '../..');
const CRD_DIR = resolve(REPO, 'k8s/crds');
const ADMIN_TOKEN = 'k6gate-test-admin-token';
const DAEMON_TOKEN = 'k6gate-test-daemon-token';
export const DAEMON_USER = 'k6gate';

export interface KubeEnv {
  server: string;
  caFile: string;
  adminToken: string;
  daemonToken: string;
  adminKubeconfig: string;
  daemonKubeconfig: string;
  binDir: string;
  /** Authenticated JSON request as the admin; throws on a non-2xx answer. */
  admin(method: string, path: string, body?: unknown): Promise<any>;
  createNamespace(prefix: string, labels?: Record<string, string>): Promise<string>;
  /** Grants the daemon user `rules` in a namespace (a Role and a RoleBinding named `name`). */
  grant(namespace: string, name: string, rules: object[]): Promise<void>;
  /** Lets the daemon user `get` secrets in a namespace. */
  grantSecretRead(namespace: string): Promise<void>;
  createSecret(namespace: string, name: string, data: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** The bin directory from scripts/kube-env, or why there is none. */
function kubeBinDir(): { dir?: string; why?: string } {
  const out = Bun.spawnSync(['bash', join(REPO, 'scripts/kube-env'), 'path'], { stderr: 'pipe' });
  if (out.exitCode === 0) return { dir: out.stdout.toString().trim() };
  return { why: 'kube-apiserver and etcd are not built (run: bash scripts/kube-env build)' };
}

async function waitUntil(what: string, ms: number, probe: () => Promise<boolean>, log?: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe().catch(() => false)) return;
    await Bun.sleep(100);
  }
  const tail = log && existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '';
  throw new Error(`${what} not ready in ${ms} ms\n${tail}`);
}

function kubeconfig(server: string, caFile: string, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testenv', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'testenv', user } }],
    'current-context': user,
  });
}

const started = new Set<KubeEnv>();

/** True for the admin client's error on a 409 Conflict (the object exists, or changed since read). */
export const isConflict = (err: unknown): boolean =>
  String((err as Error)?.message).includes(': 409 ');

/** Creates every CustomResourceDefinition in `yaml` (one already there is kept) and waits until
 * each is established. */
export async function establishCrds(admin: KubeEnv['admin'], yaml: string) {
  for (const doc of parseAllDocuments(yaml).map((d) => d.toJSON())) {
    if (doc?.kind !== 'CustomResourceDefinition') continue;
    await admin('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', doc).catch(
      (err: Error) => {
        if (!isConflict(err)) throw err;
      },
    );
    await waitUntil(`CRD ${doc.metadata.name}`, 30_000, async () => {
      const crd = await admin(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${doc.metadata.name}`,
      );
      return (crd.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      );
    });
  }
}

/** Starts a private etcd + kube-apiserver (most tests want the shared getKubeEnv()). */
export async function startKubeEnv(): Promise<KubeEnv> {
  const { dir: binDir, why } = kubeBinDir();
  if (!binDir) throw new Error(why);
  const t0 = performance.now();
  const run = mkdtempSync(join(tmpdir(), 'k6gate-kube-'));
  const etcdPort = freePort();
  const peerPort = freePort();
  const apiPort = freePort();
  const etcdLog = join(run, 'etcd.log');
  const apiLog = join(run, 'apiserver.log');
  const etcd = Bun.spawn(
    [
      join(binDir, 'etcd'),
      '--name=testenv',
      `--data-dir=${join(run, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=testenv=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { stdout: Bun.file(etcdLog), stderr: Bun.file(etcdLog), stdin: 'ignore' },
  );
  const procs: Bun.Subprocess[] = [etcd];
  const handle = { procs, run };
  live.add(handle);
  const stopAll = async () => {
    live.delete(handle);
    for (const p of [...procs].reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(timer);
      }
    }
    rmSync(run, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'etcd',
      30_000,
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
        return res.ok;
      },
      etcdLog,
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(run, 'sa.key');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const tokens = join(run, 'tokens.csv');
    writeFileSync(
      tokens,
      `${ADMIN_TOKEN},admin,admin-uid,"system:masters"\n${DAEMON_TOKEN},${DAEMON_USER},k6gate-uid,"k6gate:daemons"\n`,
    );
    const certDir = join(run, 'certs');
    const api = Bun.spawn(
      [
        join(binDir, 'kube-apiserver'),
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        `--service-account-issuer=https://127.0.0.1:${apiPort}/`,
        `--service-account-key-file=${saKey}`,
        `--service-account-signing-key-file=${saKey}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokens}`,
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        '--enable-admission-plugins=PodSecurity',
        // pods/log reaches kwok's server (the fake kubelet) at the node's InternalIP, 127.0.0.1.
        '--kubelet-preferred-address-types=InternalIP',
      ],
      { stdout: Bun.file(apiLog), stderr: Bun.file(apiLog), stdin: 'ignore' },
    );
    procs.push(api);
    const server = `https://127.0.0.1:${apiPort}`;
    const caFile = join(certDir, 'apiserver.crt');
    const call = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) =>
      fetch(`${server}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        tls: { ca: readFileSync(caFile, 'utf8') },
      } as RequestInit);
    await waitUntil(
      'kube-apiserver',
      90_000,
      async () => {
        if (!existsSync(caFile)) return false;
        return (await call('GET', '/readyz')).ok;
      },
      apiLog,
    );

    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await call(method, path, body);
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
      return text ? JSON.parse(text) : undefined;
    };
    // The pinned CRDs (TestRun, Canary, …), established before any test uses them.
    for (const file of readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
      await establishCrds(admin, readFileSync(join(CRD_DIR, file), 'utf8'));
    }
    const adminKubeconfig = join(run, 'admin.kubeconfig');
    const daemonKubeconfig = join(run, 'daemon.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfig(server, caFile, 'admin', ADMIN_TOKEN));
    writeFileSync(daemonKubeconfig, kubeconfig(server, caFile, DAEMON_USER, DAEMON_TOKEN));
    let nsSeq = 0;
    const env: KubeEnv = {
      server,
      caFile,
      adminToken: ADMIN_TOKEN,
      daemonToken: DAEMON_TOKEN,
      adminKubeconfig,
      daemonKubeconfig,
      binDir,
      admin,
      async createNamespace(prefix, labels = {}) {
        nsSeq++;
        const name =
          `${prefix}-${process.pid}-${nsSeq}-${Math.random().toString(36).slice(2, 7)}`.slice(
            0,
            63,
          );
        await admin('POST', '/api/v1/namespaces', { metadata: { name, labels } });
        return name;
      },
      async grant(namespace, name, rules) {
        const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
        await admin('POST', `${rbac}/roles`, { metadata: { name }, rules });
        await admin('POST', `${rbac}/rolebindings`, {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: DAEMON_USER }],
        });
      },
      grantSecretRead(namespace) {
        return env.grant(namespace, 'k6gate-secret-reader', [
          { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
        ]);
      },
      async createSecret(namespace, name, data) {
        await admin('POST', `/api/v1/namespaces/${namespace}/secrets`, {
          metadata: { name },
          type: 'Opaque',
          stringData: data,
        });
      },
      async stop() {
        started.delete(env);
        await stopAll();
      },
    };
    started.add(env);
    console.log(
      `kube-apiserver ready in ${((performance.now() - t0) / 1000).toFixed(1)}s at ${server}`,
    );
    return env;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

let shared: Promise<KubeEnv> | undefined;
/** The run's shared API server, started on first use. */
export function getKubeEnv(): Promise<KubeEnv> {
  shared ??= startKubeEnv();
  return shared;
}

/** Stops every API server this process started (the preload calls it after all tests, or
 * after each file in a `--parallel` worker); the next getKubeEnv starts a new one. */
export async function stopAllKubeEnvs() {
  for (const env of [...started]) await env.stop();
  shared = undefined;
}

// A crash or an early exit must not leave etcd or the apiserver behind.
const live = new Set<{ procs: Bun.Subprocess[]; run: string }>();
process.on('exit', () => {
  for (const { procs, run } of live) {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(run, { recursive: true, force: true });
  }
});

/** `describe` when the binaries exist; otherwise a loud skip, or a failure under CI=true. */
export function describeKube(name: string, body: () => void) {
  const { dir, why } = kubeBinDir();
  if (dir) return describe(name, body);
  if (process.env.CI === 'true') {
    throw new Error(`kubernetes tests cannot run under CI: ${why}`);
  }
  console.log(`SKIP kubernetes tests (${name}): ${why}`);
  return describe.skip(name, body);
}
