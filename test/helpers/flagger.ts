// The real Flagger controller for the kube tests: the binary scripts/tools builds from its Go
// module (none: the tests say SKIP), started against the test cluster for one namespace, and
// the API paths of the kinds the examples apply.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from './daemon.ts';
import type { KubeEnv } from './kube-apiserver.ts';
import { freePort } from './ports.ts';

/** The Flagger binary, or '' when it is not built. */
export function flaggerBinary(what: string): string {
  const bin = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'flagger'], {
    env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
  })
    .stdout.toString()
    .trim();
  if (!bin) console.log(`SKIP ${what}: Flagger not built (bash scripts/tools flagger)`);
  return bin;
}

/** Where each kind the examples apply is POSTed: [group path, plural]. */
export const PLURAL: Record<string, [string, string]> = {
  Deployment: ['/apis/apps/v1', 'deployments'],
  Service: ['/api/v1', 'services'],
  Canary: ['/apis/flagger.app/v1beta1', 'canaries'],
};

/** Flagger watching `namespace` only, with the kubernetes mesh provider and no metrics server;
 * `extraEnv` for its process (SSL_CERT_FILE: the CA its webhook client trusts). */
export function startFlagger(
  bin: string,
  env: KubeEnv,
  namespace: string,
  extraEnv: Record<string, string> = {},
): Bun.Subprocess {
  return Bun.spawn(
    [
      bin,
      `-kubeconfig=${env.adminKubeconfig}`,
      '-mesh-provider=kubernetes',
      `-namespace=${namespace}`,
      '-metrics-server=http://127.0.0.1:9',
      // Its own HTTP listener (8080 by default): two test processes may each run a Flagger.
      `-port=${freePort()}`,
    ],
    { stdout: 'ignore', stderr: 'ignore', env: { ...process.env, ...extraEnv } },
  );
}

/** example/podinfo.yaml and example/canary.yaml applied to namespace `ns`, changed only where
 * this machine needs it: the webhook URL, TARGET (a loopback server), a 5 s interval, the
 * iterations, no failure delay and no Slack. */
export async function applyExample(
  env: KubeEnv,
  ns: string,
  hook: { url: string; target: string; iterations: number },
): Promise<void> {
  const docs = ['podinfo.yaml', 'canary.yaml']
    .flatMap((f) => parseAllDocuments(readFileSync(join(REPO, 'example', f), 'utf8')))
    .map((d) => d.toJSON())
    .filter((o) => o && o.kind !== 'Namespace');
  for (const obj of docs) {
    obj.metadata.namespace = ns;
    if (obj.kind === 'Canary') {
      Object.assign(obj.spec.analysis, {
        interval: '5s',
        iterations: hook.iterations,
        threshold: 1,
      });
      const webhook = obj.spec.analysis.webhooks[0];
      webhook.url = hook.url;
      webhook.metadata.env_vars = JSON.stringify({ TARGET: hook.target });
      webhook.metadata.min_failure_delay = '0';
      delete webhook.metadata.slack_channels;
    }
    const [base, plural] = PLURAL[obj.kind]!;
    await env.admin('POST', `${base}/namespaces/${ns}/${plural}`, obj);
  }
}
