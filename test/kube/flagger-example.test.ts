// The example as users apply it, driven by the real client: the Flagger controller v1.44.0
// (built from its Go module by scripts/tools, -mesh-provider=kubernetes, no mesh) runs the
// canary analysis of example/canary.yaml on the kwok cluster against k6gate. A new revision with
// a healthy target reaches Succeeded ("Pre-rollout check k6-load-test passed"); one whose target
// fails a third of its requests reaches Failed, and Flagger's events carry k6gate's reason —
// the events example/README.md promises. Only what cannot work here changes: the webhook URL
// (the daemon on 127.0.0.1), TARGET (a loopback server; the k6 double sends the requests),
// a 5 s interval and 2 iterations.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, startInProcess } from '../helpers/daemon.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { applyExample, flaggerBinary, startFlagger } from '../helpers/flagger.ts';
import {
  getKubeCluster,
  reviseDeployment,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';

const flagger = flaggerBinary('real Flagger');

/** The events example/README.md shows (`<type> Synced flagger <message>`), for namespace `ns`. */
function promisedEvents(ns: string, pattern: RegExp): string[] {
  const readme = readFileSync(join(REPO, 'example/README.md'), 'utf8');
  return [...readme.matchAll(/^(Normal|Warning) +Synced +flagger +(.+)$/gm)]
    .filter((m) => pattern.test(m[2]!))
    .map((m) => `${m[1]}: ${m[2]!.replaceAll('podinfo.test', `podinfo.${ns}`)}`);
}

describeKube('the example on the kwok cluster, analysed by the real Flagger', () => {
  let cluster: KubeCluster;
  let ns: string;
  let controller: Bun.Subprocess | undefined;
  let daemon: ReturnType<typeof startInProcess>;
  let failing = false;
  let served = 0;
  const target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => new Response('ok', { status: failing && ++served % 3 === 0 ? 500 : 200 }),
  });
  const canaryPath = () => `/apis/flagger.app/v1beta1/namespaces/${ns}/canaries/podinfo`;
  const phase = async () => (await cluster.env.admin('GET', canaryPath())).status?.phase as string;
  const events = async () =>
    (
      await cluster.env.admin(
        'GET',
        `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dpodinfo`,
      )
    ).items.map(
      // The first line: a failed check's event goes on with k6's output (the answer's body).
      (e: { type: string; message: string }) => `${e.type}: ${e.message.split('\n')[0]}`,
    ) as string[];
  const revise = (revision: string) => reviseDeployment(cluster.env, ns, 'podinfo', revision);

  beforeAll(async () => {
    if (!flagger) return;
    cluster = await getKubeCluster();
    ns = await cluster.env.createNamespace('flagger', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    daemon = startInProcess({});
    controller = startFlagger(flagger, cluster.env, ns);
    await applyExample(cluster.env, ns, {
      url: `${daemon.url}/launch-test`,
      target: `http://127.0.0.1:${target.port}`,
      iterations: 2,
    });
    await until(async () => (await phase()) === 'Initialized', 'Canary Initialized', 90_000);
  }, 150_000);

  afterAll(async () => {
    controller?.kill();
    await controller?.exited;
    await daemon?.close();
    await target.stop(true);
  });

  test.skipIf(!flagger)(
    'a healthy revision: the pre-rollout check passes and the Canary reaches Succeeded',
    async () => {
      await revise('healthy');
      await until(async () => (await phase()) === 'Succeeded', 'Canary Succeeded', 150_000);
      const promised = promisedEvents(
        ns,
        /Pre-rollout check k6-load-test passed|Promotion completed/,
      );
      expect(promised).toHaveLength(2);
      // Flagger's event recorder writes Events in the background, after the phase it set.
      let said: string[] = [];
      await until(
        async () => {
          said = await events();
          return promised.every((line) => said.includes(line));
        },
        'the promised Events',
        15_000,
      ).catch(() => {}); // the expectation below says which line is missing
      console.log(said.filter((e) => /check|Advance|Promotion/.test(e)).join('\n'));
      for (const line of promised) expect(said).toContain(line);
    },
    180_000,
  );

  test.skipIf(!flagger)(
    "a failing revision: Failed, with k6gate's reason in Flagger's events",
    async () => {
      failing = true;
      await revise('failing');
      await until(async () => (await phase()) === 'Failed', 'Canary Failed', 150_000);
      // Flagger's event recorder writes Events in the background, after the phase it set.
      let said: string[] = [];
      const rolledBack = async () =>
        (said = await events()).some((e) => /Rolling back podinfo/.test(e));
      await until(rolledBack, 'the rollback Event', 15_000).catch(() => {});
      console.log(said.filter((e) => /check|Rolling|Canary failed/.test(e)).join('\n'));
      const promised = promisedEvents(ns, /failed failed to run: exit status 99/);
      expect(promised).toHaveLength(1);
      expect(said).toContain(promised[0]!);
      expect(said.some((e) => /Rolling back podinfo/.test(e))).toBe(true);
    },
    180_000,
  );
});
