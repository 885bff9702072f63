// The real Flagger controller for the kube tests: the binary scripts/tools builds from its Go
// module (none: the tests say SKIP), started against the test cluster for one namespace, and
// the API paths of the kinds the examples apply.

import { join } from 'node:path';
import { REPO } from './daemon.ts';
import type { KubeEnv } from './kube-apiserver.ts';

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
    ],
    { stdout: 'ignore', stderr: 'ignore', env: { ...process.env, ...extraEnv } },
  );
}
