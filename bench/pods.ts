// `make bench` (pod runs): the compiled k6gate driving 50 concurrent `job` runs, then one
// `k6-operator` TestRun with parallelism 50, on the kwok cluster the tests use (real apiserver,
// Job controller, garbage collector, scheduler; kwok runs the pods; the k6-operator contract
// double makes the runner Jobs). Measured: API requests per run by the kinds k6gate makes (the
// apiserver's own apiserver_request_total, before and after), verdict latency after the last
// runner pod terminated (as seen by a watch of the bench's own), k6gate's RSS per concurrent run.
// Results go to bench/results/pods-<time>.{json,md}. Loopback only; every wait is bounded.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getOperatorDouble, stopOperatorDouble } from '../test/helpers/k6-operator-double.ts';
import { stopAllKubeEnvs } from '../test/helpers/kube-apiserver.ts';
import { getKubeCluster, stopKubeCluster } from '../test/helpers/kube-cluster.ts';
import { RUNNER_RULES } from '../test/helpers/runner-rbac.ts';

const REPO = resolve(import.meta.dir, '..');
const K6GATE = join(REPO, 'dist/k6gate');
const JOBS = Number(process.env.BENCH_POD_RUNS ?? 50);
const PARALLELISM = Number(process.env.BENCH_PARALLELISM ?? 50);
const log = (msg: string) => process.stderr.write(`[bench pods] ${msg}\n`);

// Counts of apiserver_request_total by verb and resource (subresource after a slash).
async function requestCounts(server: string, token: string): Promise<Map<string, number>> {
  const res = await fetch(`${server}/metrics`, {
    headers: { Authorization: `Bearer ${token}` },
    tls: { rejectUnauthorized: false },
  });
  const counts = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(line)?.[1] ?? '';
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return counts;
}

// The kinds of request k6gate makes for a run (a pod log read is a CONNECT to the apiserver);
// other clients (controllers, kwok, the operator double) make none of these except deletes.
const KINDS = [
  'POST jobs',
  'POST testruns',
  'POST configmaps',
  'DELETE jobs',
  'DELETE testruns',
  'WATCH pods',
  'WATCH testruns',
  'CONNECT pods/log',
];

function diff(before: Map<string, number>, after: Map<string, number>) {
  if (process.env.BENCH_DEBUG)
    for (const [k, v] of after)
      if (v !== (before.get(k) ?? 0)) log(`${k}: +${v - (before.get(k) ?? 0)}`);
  return Object.fromEntries(KINDS.map((k) => [k, (after.get(k) ?? 0) - (before.get(k) ?? 0)]));
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** Local time at which the bench saw each run's last runner pod terminate, by canary name. */
function watchTerminations(server: string, token: string, ns: string, signal: AbortSignal) {
  const ended = new Map<string, number>();
  const firstSeen = new Map<string, number>(); // pod → when its k6 container was first seen ended
  void (async () => {
    const res = await fetch(`${server}/api/v1/namespaces/${ns}/pods?watch=1`, {
      headers: { Authorization: `Bearer ${token}` },
      tls: { rejectUnauthorized: false },
      signal,
    });
    let carry = '';
    try {
      for await (const chunk of res.body!) {
        carry += new TextDecoder().decode(chunk as Uint8Array);
        let nl: number;
        while ((nl = carry.indexOf('\n')) !== -1) {
          const ev = JSON.parse(carry.slice(0, nl));
          carry = carry.slice(nl + 1);
          const pod = ev.object;
          const done = pod.status?.containerStatuses?.find((c: { name: string }) => c.name === 'k6')
            ?.state?.terminated;
          const canary = pod.metadata?.labels?.['k6gate.io/canary-name'];
          // Operator pods (k6_cr) count only as runners; a Job run's pod always.
          const labels = pod.metadata?.labels ?? {};
          const runner = labels.k6_cr === undefined || labels.runner === 'true';
          const pod_ = pod.metadata?.name as string;
          if (done && canary && runner && !firstSeen.has(pod_)) {
            firstSeen.set(pod_, performance.now());
            ended.set(canary, Math.max(ended.get(canary) ?? 0, performance.now()));
          }
        }
      }
    } catch {
      // aborted at the end
    }
  })();
  return ended;
}

async function main() {
  if (!Bun.file(K6GATE).size) throw new Error('dist/k6gate is missing: run make build');
  const cluster = await getKubeCluster();
  const env = cluster.env;
  getOperatorDouble(cluster, { runnerLogs: false }); // as before: runners end at once, no logs
  const adminToken: string = (await Bun.file(env.adminKubeconfig).json()).users[0].user.token;
  const ns = await env.createNamespace('bench', {
    'pod-security.kubernetes.io/enforce': 'restricted',
  });
  await env.grant(ns, 'k6gate-runner', [...RUNNER_RULES.job, RUNNER_RULES['k6-operator'][0]!]);

  const port = 20000 + Math.floor(Math.random() * 20000);
  const daemon = Bun.spawn(
    [K6GATE, 'serve', '--host', '127.0.0.1', '--listen-port', String(port)],
    {
      env: {
        PATH: process.env.PATH ?? '',
        KUBERNETES_CLIENT: 'kubeconfig',
        KUBECONFIG: env.daemonKubeconfig,
        // With a Kubernetes client only pod runners are allowed by default (the tenant policy).
        RUNNER: 'job',
        LOG_LEVEL: 'error',
        MAX_CONCURRENT_POD_RUNS: String(JOBS),
        MAX_PARALLELISM: String(PARALLELISM),
        START_TIMEOUT: '120s',
        K6_BINARY: '/bin/true',
      },
      stdout: 'ignore',
      stderr: 'inherit',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.ok) break;
    if (i > 100) throw new Error('k6gate did not become healthy');
    await Bun.sleep(100);
  }
  const idleRss = rssKiB(daemon.pid);
  const stopWatch = new AbortController();
  const ended = watchTerminations(env.server, adminToken, ns, stopWatch.signal);

  const launch = (name: string, metadata: Record<string, string>) =>
    fetch(`${url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name,
        namespace: ns,
        phase: 'Progressing',
        metadata: { script: 'export default function () {}', min_failure_delay: '0s', ...metadata },
      }),
      signal: AbortSignal.timeout(300_000),
    }).then(async (res) => ({
      name,
      status: res.status,
      at: performance.now(),
      body: await res.text(),
    }));

  log(`${JOBS} concurrent job runs in ${ns}`);
  let peakRss = idleRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKiB(daemon.pid))), 100);
  const before = await requestCounts(env.server, adminToken);
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: JOBS }, (_, i) => launch(`job-${i}`, { runner: 'job' })),
  );
  const jobWallMs = performance.now() - t0;
  await Bun.sleep(2000); // deletes after the answers land in the counts
  const jobRequests = diff(before, await requestCounts(env.server, adminToken));
  clearInterval(sampler);
  const latencies = answers.filter((a) => ended.has(a.name)).map((a) => a.at - ended.get(a.name)!);
  const passed = answers.filter((a) => a.status === 200).length;
  log(`job runs: ${passed}/${JOBS} passed in ${(jobWallMs / 1000).toFixed(1)} s`);

  log(`one k6-operator TestRun with parallelism ${PARALLELISM}`);
  const before2 = await requestCounts(env.server, adminToken);
  const t1 = performance.now();
  const big = await launch('testrun-big', {
    runner: 'k6-operator',
    parallelism: String(PARALLELISM),
  });
  const testRunWallMs = performance.now() - t1;
  const testRunRequests = diff(before2, await requestCounts(env.server, adminToken));
  const bigLatency = ended.has('testrun-big') ? big.at - ended.get('testrun-big')! : Number.NaN;
  stopWatch.abort();
  daemon.kill('SIGTERM');
  await daemon.exited;

  const results = {
    date: new Date().toISOString(),
    jobRuns: {
      concurrent: JOBS,
      passed,
      wallSeconds: jobWallMs / 1000,
      verdictLatencyAfterLastPodMs: {
        p50: pct(latencies, 50),
        p99: pct(latencies, 99),
        samples: latencies.length,
      },
      apiRequestsPerRun: Object.fromEntries(
        Object.entries(jobRequests).map(([k, v]) => [k, v / JOBS]),
      ),
      rssKiB: { idle: idleRss, peak: peakRss, perConcurrentRun: (peakRss - idleRss) / JOBS },
    },
    testRun: {
      parallelism: PARALLELISM,
      status: big.status,
      verdict: big.status === 200 ? `${PARALLELISM} runners passed` : big.body.split('\n')[0],
      wallSeconds: testRunWallMs / 1000,
      verdictLatencyAfterLastRunnerMs: bigLatency,
      apiRequests: testRunRequests,
    },
  };
  const dir = join(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = results.date.replace(/[:.]/g, '-');
  writeFileSync(join(dir, `pods-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const md = [
    `#### Pod runs on kwok (${results.date})`,
    '',
    '| measure | value |',
    '|---|---|',
    `| ${JOBS} concurrent job runs | ${passed} passed, ${results.jobRuns.wallSeconds.toFixed(1)} s wall |`,
    `| verdict after the run's pod terminated (p50 / p99) | ${results.jobRuns.verdictLatencyAfterLastPodMs.p50.toFixed(0)} / ${results.jobRuns.verdictLatencyAfterLastPodMs.p99.toFixed(0)} ms |`,
    `| API requests per job run, of the kinds k6gate makes | ${Object.entries(
      results.jobRuns.apiRequestsPerRun,
    )
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')} |`,
    `| k6gate RSS idle → peak, per concurrent run | ${(idleRss / 1024).toFixed(1)} → ${(peakRss / 1024).toFixed(1)} MiB, ${results.jobRuns.rssKiB.perConcurrentRun.toFixed(0)} KiB |`,
    `| TestRun, parallelism ${PARALLELISM} | ${big.status} \`${results.testRun.verdict}\`, ${results.testRun.wallSeconds.toFixed(1)} s wall, verdict ${bigLatency.toFixed(0)} ms after the last runner ended |`,
    '',
  ].join('\n');
  writeFileSync(join(dir, `pods-${stamp}.md`), md);
  writeFileSync(join(dir, 'pods-latest.md'), md);
  console.log(md);
}

try {
  await main();
} finally {
  await stopOperatorDouble();
  await stopKubeCluster();
  await stopAllKubeEnvs();
}
