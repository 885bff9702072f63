// Flagger's own webhook client over HTTPS: the real Flagger controller (TLS verification on,
// the test CA its only extra trust through Go's SSL_CERT_FILE) calls the compiled k6gate
// serving --tls-cert-file with --auth-file, the client's token in the webhook URL as Flagger
// users write it (https://team-a:<token>@…). The canary's new revision reaches Succeeded with
// "Pre-rollout check k6-load-test passed", and k6gate logged the run under client team-a.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChildDaemon, type ChildDaemon } from '../helpers/daemon.ts';
import { applyExample, flaggerBinary, startFlagger } from '../helpers/flagger.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import {
  getKubeCluster,
  reviseDeployment,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';
import { makeTestCa } from '../helpers/test-ca.ts';

const flagger = flaggerBinary('Flagger over HTTPS');
const TOKEN = 'team-a-token-over-tls-0123456789';

describeKube("Flagger's webhook client over HTTPS with Basic auth from the URL", () => {
  let cluster: KubeCluster;
  let ns: string;
  let controller: Bun.Subprocess | undefined;
  let daemon: ChildDaemon;
  const ca = makeTestCa();
  const target = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('ok') });
  const phase = async () =>
    (await cluster.env.admin('GET', `/apis/flagger.app/v1beta1/namespaces/${ns}/canaries/podinfo`))
      .status?.phase as string;

  beforeAll(async () => {
    if (!flagger) return;
    cluster = await getKubeCluster();
    ns = await cluster.env.createNamespace('flagger-tls', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const { cert, key } = ca.serverCert('k6gate');
    const authFile = join(ca.dir, 'auth.yaml');
    writeFileSync(
      authFile,
      `clients:\n  - name: team-a\n    token: "${TOKEN}"\n    namespaces: ["*"]\n`,
    );
    daemon = await startChildDaemon({
      compiled: true,
      args: ['--tls-cert-file', cert, '--tls-key-file', key, '--auth-file', authFile],
    });
    controller = startFlagger(flagger, cluster.env, ns, { SSL_CERT_FILE: ca.caCert });
    const port = new URL(daemon.url).port;
    await applyExample(cluster.env, ns, {
      url: `https://team-a:${TOKEN}@127.0.0.1:${port}/launch-test`,
      target: `http://127.0.0.1:${target.port}`,
      iterations: 1,
    });
    await until(async () => (await phase()) === 'Initialized', 'Canary Initialized', 90_000);
  }, 150_000);

  afterAll(async () => {
    controller?.kill();
    await controller?.exited;
    await daemon?.[Symbol.asyncDispose]();
    await target.stop(true);
    ca[Symbol.dispose]();
  });

  test.skipIf(!flagger)(
    'a new revision passes its pre-rollout check over https and is promoted',
    async () => {
      await reviseDeployment(cluster.env, ns, 'podinfo', 'healthy');
      await until(async () => (await phase()) === 'Succeeded', 'Canary Succeeded', 150_000);
      const events = (
        await cluster.env.admin(
          'GET',
          `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3Dpodinfo`,
        )
      ).items.map((e: { message: string }) => e.message) as string[];
      expect(events.some((m) => m.startsWith('Pre-rollout check k6-load-test passed'))).toBe(true);
      const launched = daemon.logs.find((r) => r.msg === 'launched k6');
      expect(launched?.client).toBe('team-a');
      expect(JSON.stringify(daemon.logs)).not.toContain(TOKEN);
    },
    180_000,
  );
});
