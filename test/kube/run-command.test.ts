// `k6gate run` (the compiled binary) against the kwok cluster, with the daemon user's kubeconfig:
// --configmap runs a ConfigMap's multi-file test locally, --secret reaches k6 as a value (never
// printed), --runner job runs it in a Job (exit 0; exit 99 with the reason) and leaves nothing.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILED, K6_DOUBLE } from '../helpers/daemon.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { k6Archive } from '../helpers/k6-archive.ts';
import { collect } from '../helpers/processes.ts';
import {
  getKubeCluster,
  objectsLeft,
  runnerNamespace,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { RUNNER_RULES, SCRIPT_CONFIGMAP_RULES } from '../helpers/runner-rbac.ts';

// The scripts these tests hand to `k6gate run`, removed at the end.
const scripts = mkdtempSync(join(tmpdir(), 'k6gate-run-kube-'));
afterAll(() => rmSync(scripts, { recursive: true, force: true }));

const CHAOS = 'pod-container-running-failed.stage.kwok.x-k8s.io';
const SECRET = 'run-command-s3cret';

describeKube('k6gate run against a kwok cluster', () => {
  let cluster: KubeCluster;
  let ns: string;

  beforeAll(async () => {
    cluster = await getKubeCluster();
    ({ ns } = await runnerNamespace(cluster.env, 'cli', [
      ...SCRIPT_CONFIGMAP_RULES,
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      ...RUNNER_RULES.job,
    ]));
    await cluster.env.admin('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'tests' },
      data: {
        'main.js':
          "// k6-double: mode=pass duration=1s report-env=TOKEN\nimport { n } from './lib.js';\nconst d = JSON.parse(open('./data.json'));\nexport default function () { console.log(`lib says ${n + d.add}`); }\n",
        'lib.js': 'export const n = 40;\n',
        'data.json': '{"add": 2}',
      },
    });
    await cluster.env.createSecret(ns, 'tokens', { token: SECRET });
  }, 120_000);

  async function run(args: string[]) {
    const proc = Bun.spawn(
      [COMPILED, 'run', '--kubernetes-client', 'kubeconfig', '--start-timeout', '30s', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          K6_BINARY: K6_DOUBLE,
          KUBECONFIG: cluster.env.daemonKubeconfig,
          K6_DOUBLE_MODE: 'load',
        },
        stdout: 'pipe',
        stderr: 'pipe',
      },
    );
    return collect(proc);
  }

  test('--configmap ns/name/key with --secret: the files beside the entry, the secret as a value', async () => {
    const r = await run([
      '--configmap',
      `${ns}/tests/main.js`,
      '--secret',
      `TOKEN=${ns}/tokens/token`,
      '--env',
      'K6_DOUBLE_MODE=load',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('lib says 42');
    expect(r.last).toBe('k6gate: passed: all thresholds passed');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  }, 60_000);

  test('--configmap naming a missing key: exit 64 naming --configmap', async () => {
    const r = await run(['--configmap', `${ns}/tests/nope.js`]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      '--configmap: ConfigMap "tests" has no key "nope.js" (its keys: data.json, lib.js, main.js)',
    );
  }, 60_000);

  test('--runner job: exit 0 from a passing pod, 99 from a failing one, nothing left', async () => {
    const path = join(scripts, `k6gate-run-job-${process.pid}.js`);
    await Bun.write(path, 'export default function () {}\n');
    // kwok's chaos Stage ends the runner pod with the exit code its annotations name.
    const pod = (exitCode: string) => [
      '--pod-label',
      `${CHAOS}=true`,
      '--pod-annotation',
      `${CHAOS}/exit-code=${exitCode}`,
      '--pod-annotation',
      `${CHAOS}/reason=${exitCode === '0' ? 'Completed' : 'Error'}`,
      '--pod-annotation',
      `${CHAOS}/delay=1s`,
    ];
    const base = ['--runner', 'job', '--namespace', ns, '--name', 'cli-job'];
    const pass = await run([...base, ...pod('0'), path]);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toContain("(k6gate: the runner's log is not available"); // kwok has no kubelet
    expect(pass.last).toBe('k6gate: passed: all thresholds passed');
    const fail = await run([...base, ...pod('99'), path]);
    expect(fail.code).toBe(99);
    expect(fail.last).toBe('k6gate: failed to run: exit status 99 (thresholds crossed)');
    await until(
      async () => (await objectsLeft(cluster.env, ns)).every((o) => o === 'ConfigMap/tests'),
      'nothing of the runs left',
    );
  }, 90_000);

  test("a local k6 archive with --runner job: copied into the run's own ConfigMap (binaryData), exit 0, nothing left", async () => {
    const path = join(scripts, `k6gate-run-archive-${process.pid}.tar`);
    await Bun.write(
      path,
      k6Archive('/t/test.js', { '/t/test.js': 'export default function () {}\n' }),
    );
    const seen = new Set<string>();
    const watching = (async () => {
      for (let i = 0; i < 100 && seen.size === 0; i++) {
        const list = await cluster.env.admin('GET', `/api/v1/namespaces/${ns}/configmaps`);
        for (const cm of list.items) {
          if (cm.metadata.name.startsWith('k6gate-')) {
            seen.add(
              `${cm.metadata.name}: binaryData ${Object.keys(cm.binaryData ?? {}).join(',')}`,
            );
          }
        }
        await Bun.sleep(100);
      }
    })();
    const r = await run(['--runner', 'job', '--namespace', ns, '--name', 'cli-archive', path]);
    await watching;
    expect(r.code).toBe(0);
    expect([...seen]).toEqual([
      expect.stringMatching(/^k6gate-[0-9a-f]{16}: binaryData k6gate-run-archive-\d+\.tar$/),
    ]);
    await until(
      async () => (await objectsLeft(cluster.env, ns)).every((o) => o === 'ConfigMap/tests'),
      'nothing of the run left',
    );
  }, 90_000);
});
