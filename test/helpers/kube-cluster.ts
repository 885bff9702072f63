// A kubelet-less cluster for pod-runner tests, on top of the run's shared API server
// (kube-apiserver.ts): kube-controller-manager (Job controller, garbage collector, Deployments),
// kube-scheduler (binds pods to nodes), and kwok (simulated nodes; pod lifecycles from its own
// Stage manifests, including the chaos Stage that fails a container with a chosen exit code).
// All built from Go modules by scripts/kube-env; one cluster per test run.

import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/core/log.ts';
import { createKubeTransport, loadKubeConfig, type KubeTransport } from '../../src/kube/client.ts';
import { sweepOrphans } from '../../src/runners/pods/janitor.ts';
import { establishCrds, getKubeEnv, isConflict, type KubeEnv } from './kube-apiserver.ts';
import { freePort } from './ports.ts';

export interface KubeCluster {
  env: KubeEnv;
  /** The fake node's name; pods are bound to it by the real scheduler. */
  node: string;
  /** Makes `text` the log of the pod's `k6` container, as kwok's server answers `pods/log` from
   * now on (the pod need not exist yet); `append` writes more of it, as k6 goes on printing. */
  servePodLog(ns: string, pod: string, text: string): Promise<{ append(text: string): void }>;
  stop(): Promise<void>;
}

/** Every Stage manifest kwok ships that a test cluster wants: node lifecycle, the general pod
 * lifecycle (Job pods complete with exit 0), and the chaos Stages selected by pod labels; plus
 * the repo's Stage for an image that never pulls. */
function stageFiles(binDir: string): string[] {
  const root = join(binDir, 'stages');
  const pick = (dir: string) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
          .map((f) => join(root, dir, f))
      : [];
  return [
    ...pick('node/fast'),
    ...pick('node/heartbeat'),
    ...pick('pod/general'),
    ...pick('pod/chaos'),
    // The repo's own test Stage: an image that never pulls (ImagePullBackOff).
    join(import.meta.dir, '../fixtures/kwok/pod-image-pull-backoff.yaml'),
  ];
}

const LOGS_CRD = join(import.meta.dir, '../fixtures/kwok/logs-crd.yaml');

async function startCluster(): Promise<KubeCluster> {
  const env = await getKubeEnv();
  const t0 = performance.now();
  const run = mkdtempSync(join(tmpdir(), 'k6gate-cluster-'));
  const log = (name: string) => Bun.file(join(run, `${name}.log`));
  const spawn = (name: string, argv: string[], logName = name) =>
    Bun.spawn([join(env.binDir, name), ...argv], {
      stdout: log(logName),
      stderr: log(logName),
      stdin: 'ignore',
    });
  const kubeconfig = env.adminKubeconfig;
  // kwok's server is the node's kubelet for `pods/log`: the API server reaches it at the node's
  // InternalIP and kubelet port, and it serves the file a pod's `Logs` object names.
  await establishCrds(env.admin, readFileSync(LOGS_CRD, 'utf8'));
  const kubeletPort = freePort();
  const kwokArgs = [
    `--kubeconfig=${kubeconfig}`,
    '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
    `--server-address=127.0.0.1:${kubeletPort}`,
    '--node-ip=127.0.0.1',
    `--node-port=${kubeletPort}`,
    '--enable-crds=Logs',
    ...stageFiles(env.binDir).map((f) => `--config=${f}`),
  ];
  const procs = [
    spawn('kube-controller-manager', [
      `--kubeconfig=${kubeconfig}`,
      // nodelifecycle lifts the not-ready taint the apiserver puts on a new node once kwok makes it Ready.
      '--controllers=job,garbagecollector,deployment,replicaset,ttl-after-finished,nodelifecycle',
      '--leader-elect=false',
      '--secure-port=0',
      '--use-service-account-credentials=false',
      '--concurrent-job-syncs=20',
    ]),
    spawn('kube-scheduler', [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
    ]),
    spawn('kwok', kwokArgs),
  ];
  live.add(procs);
  const stopProcs = async () => {
    live.delete(procs);
    await Promise.all(
      procs.map(async (p) => {
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
  };
  const node = `kwok-node-${process.pid}`;
  try {
    await addNode();
  } catch (err) {
    await stopProcs(); // its logs stay in `run`, which the error names
    throw err;
  }
  console.log(
    `kwok cluster ready in ${((performance.now() - t0) / 1000).toFixed(1)}s (node ${node})`,
  );
  // The fake node, Ready and untainted (kwok makes it Ready, nodelifecycle lifts the taint).
  async function addNode() {
    await env.admin('POST', '/api/v1/nodes', {
      metadata: {
        name: node,
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
        labels: { type: 'kwok' },
      },
      status: {
        allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
        capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
      },
    });
    const deadline = Date.now() + 60_000;
    let kwokStarts = 1;
    for (;;) {
      // kwok v0.8.0 can die as it starts, on a data race in its CEL setup ("fatal error: concurrent
      // map writes" in easycel; seen once in CI): it is started once more, its first log kept.
      if (procs[2]!.exitCode !== null) {
        if (kwokStarts >= 2) throw new Error(`kwok exited twice at start (logs in ${run})`);
        console.log(`kwok exited at start (${run}/kwok.log); starting it once more`);
        procs[2] = spawn('kwok', kwokArgs, `kwok-${++kwokStarts}`);
      }
      const n = await env.admin('GET', `/api/v1/nodes/${node}`);
      const ready = (n.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      );
      const tainted = (n.spec?.taints ?? []).length > 0;
      if (ready && !tainted) break;
      if (Date.now() > deadline)
        throw new Error(`node ${node} not Ready and untainted in 60 s (logs in ${run})`);
      await Bun.sleep(200);
    }
  }

  return {
    env,
    node,
    async servePodLog(ns, pod, text) {
      const file = join(run, `${ns}.${pod}.log`);
      writeFileSync(file, criLog(text));
      await env.admin('POST', `/apis/kwok.x-k8s.io/v1alpha1/namespaces/${ns}/logs`, {
        apiVersion: 'kwok.x-k8s.io/v1alpha1',
        kind: 'Logs',
        metadata: { name: pod, namespace: ns },
        // A `follow=true` request stays open and gets what is appended (kwok never ends it: it
        // cannot tell the container stopped; the follower does).
        spec: { logs: [{ containers: ['k6'], logsFile: file }] },
      });
      return { append: (more) => appendFileSync(file, criLog(more)) };
    },
    async stop() {
      await stopProcs();
      rmSync(run, { recursive: true, force: true });
    },
  };
}

/** Lines in the CRI log format a kubelet keeps (`<time> stdout F <line>`), which kwok reads. */
function criLog(text: string): string {
  const at = new Date().toISOString();
  return text
    .split('\n')
    .map((line) => `${at} stdout F ${line}\n`)
    .join('');
}

let shared: Promise<KubeCluster> | undefined;
/** The run's cluster, started on first use and stopped by the preload after all tests. */
export function getKubeCluster(): Promise<KubeCluster> {
  shared ??= startCluster();
  return shared;
}

export async function stopKubeCluster() {
  // A start that failed stopped its own processes (and said so): nothing to stop, and the
  // preload's other stops (the API server, PostgreSQL) must still run.
  const cluster = await shared?.catch(() => undefined);
  shared = undefined;
  await cluster?.stop();
}

const live = new Set<Bun.Subprocess[]>();
process.on('exit', () => {
  for (const procs of live) for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

/** Every object a run may leave in a test namespace (`kind/name`), for cascade checks. */
export async function objectsLeft(env: KubeEnv, ns: string): Promise<string[]> {
  const lists = await Promise.all([
    env.admin('GET', `/apis/k6.io/v1alpha1/namespaces/${ns}/testruns`),
    env.admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs`),
    env.admin('GET', `/api/v1/namespaces/${ns}/pods`),
    env.admin('GET', `/api/v1/namespaces/${ns}/services`),
    env.admin('GET', `/api/v1/namespaces/${ns}/configmaps`),
  ]);
  const kinds = ['TestRun', 'Job', 'Pod', 'Service', 'ConfigMap'];
  return lists.flatMap((l, i) =>
    (l.items as { metadata: { name: string } }[])
      .filter((o) => o.metadata.name !== 'kube-root-ca.crt')
      .map((o) => `${kinds[i]}/${o.metadata.name}`),
  );
}

/** Polls `probe` every 200 ms until it holds; throws naming `what` after `ms`. */
export async function until(probe: () => Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(200);
  }
}

/** Labels of a namespace that enforces (and warns on) the restricted Pod Security Standard. */
export const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
};

/** A restricted namespace where the daemon user holds `rules` (a Role), and a transport that
 * talks to the API server as that user, as k6gate does. */
export async function runnerNamespace(
  env: KubeEnv,
  prefix: string,
  rules: object[],
): Promise<{ ns: string; kube: KubeTransport }> {
  const ns = await env.createNamespace(prefix, RESTRICTED);
  await env.grant(ns, `k6gate-${prefix}`, rules);
  const kc = loadKubeConfig('kubeconfig', env.daemonKubeconfig);
  if (!kc) throw new Error('no kubeconfig');
  return { ns, kube: createKubeTransport(kc) };
}

/** One janitor sweep of `ns` as if the clock said `now`; how many runs it deleted. */
export function sweepAt(kube: KubeTransport, ns: string, now: number): Promise<number> {
  return sweepOrphans({
    kube,
    logger: createLogger({ level: 'error', format: 'json' }),
    clock: { now: () => now },
    namespaces: () => [ns],
  });
}

/** A new revision of a Deployment (an annotation on its pod template), as `kubectl apply` would
 * make one; a 409 (Flagger updated the object meanwhile) is retried on the fresh object. */
export async function reviseDeployment(env: KubeEnv, ns: string, name: string, revision: string) {
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
  for (let attempt = 1; ; attempt++) {
    const dep = await env.admin('GET', path);
    dep.spec.template.metadata.annotations = { 'example.k6gate.io/revision': revision };
    try {
      await env.admin('PUT', path, dep);
      return;
    } catch (err) {
      if (attempt >= 5 || !isConflict(err)) throw err;
    }
  }
}
