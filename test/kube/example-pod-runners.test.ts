// example/pod-runners as users get it: each Canary's webhook metadata, sent to k6gate as Flagger
// sends it, runs on the kwok cluster with the runner it names (the k6-operator one through the
// contract double) in a namespace enforcing the restricted Pod Security Standard, with the RBAC
// the example's chart values generate, and passes; the values file enables exactly those runners.

import { beforeAll, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeTransport } from '../../src/kube/client.ts';
import { flaggerPayload, postLaunch, REPO, startInProcess } from '../helpers/daemon.ts';
import { getOperatorDouble } from '../helpers/k6-operator-double.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import {
  getKubeCluster,
  objectsLeft,
  runnerNamespace,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { RUNNER_RULES } from '../helpers/runner-rbac.ts';

const DIR = join(REPO, 'example/pod-runners');
type Doc = { kind?: string; metadata: { name: string }; spec?: any; runners?: any };
const docs = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJSON() as Doc),
  );
const canaries = docs.filter((d) => d?.kind === 'Canary');
const values = docs.find((d) => d && !d.kind && d.runners) as Doc;

test('one Canary per pod runner, each on its own Deployment; the values enable both runners', () => {
  const runners = canaries.map((c) => c.spec.analysis.webhooks[0].metadata.runner).sort();
  expect(runners).toEqual(['job', 'k6-operator']);
  const targets = canaries.map((c) => c.spec.targetRef.name);
  expect(new Set(targets).size).toBe(canaries.length);
  for (const t of targets)
    expect(docs.some((d) => d?.kind === 'Deployment' && d.metadata.name === t)).toBe(true);
  expect([...values.runners.enabled].sort()).toEqual(['job', 'k6-operator']);
});

describeKube('example/pod-runners on the kwok cluster', () => {
  let cluster: KubeCluster;
  let kube: KubeTransport;
  let ns: string;

  beforeAll(async () => {
    cluster = await getKubeCluster();
    getOperatorDouble(cluster);
    ({ ns, kube } = await runnerNamespace(cluster.env, 'example', [
      ...RUNNER_RULES.job,
      ...RUNNER_RULES['k6-operator'].slice(0, 1),
    ]));
  }, 120_000);

  test.each(canaries.map((c) => [c.metadata.name, c] as const))(
    'Canary %s: its webhook passes on the cluster and leaves nothing',
    async (name, canary) => {
      const hook = canary.spec.analysis.webhooks[0];
      await using d = startInProcess({ kube, args: ['--start-timeout', '60s'] });
      const res = await postLaunch(
        d.url,
        flaggerPayload(hook.metadata, { namespace: ns, name: canary.metadata.name }),
      );
      const text = await res.text();
      expect({ status: res.status, first: text.split('\n')[0] }).toMatchObject({ status: 200 });
      const verdict = d.records.find((r) => r.msg.startsWith('the load test for'));
      expect(verdict?.verdict).toBe('passed');
      if (hook.metadata.parallelism)
        expect(verdict?.reason).toBe(`all ${hook.metadata.parallelism} runners passed`);
      // The garbage collector of kube-controller-manager deletes the owned objects; on a loaded
      // 2-core machine it once took over 30 s (the test's budget allows 60).
      await until(
        async () => (await objectsLeft(cluster.env, ns)).length === 0,
        `${name}: cascade`,
        60_000,
      );
    },
    150_000,
  );
});
