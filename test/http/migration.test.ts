// Coming from grafana/flagger-k6-webhook: the webhook of the original's README, as users copied
// it, against k6gate. Everything but one reference works as is; the cross-namespace secret
// (`other-namespace/secret-name/secret-key`) is refused by default with the switch named, and
// passes with the switch the README's migration table gives (--secrets-namespaces).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { SecretRefSpec } from '../../src/flagger/payload.ts';
import type { SecretSource } from '../../src/kube/secret-source.ts';
import { postLaunch, startInProcess } from '../helpers/daemon.ts';

let target: ReturnType<typeof Bun.serve>;
const seen: string[] = [];
beforeAll(() => {
  target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request) {
      seen.push(new URL(request.url).search);
      return new Response('ok');
    },
  });
});
afterAll(() => target.stop(true));

// The original README's webhook metadata, verbatim but for what this machine needs: the
// service URL is a loopback server (and carries the injected values, so the test sees them),
// 30s is 2s, and nothing goes to k6 Cloud (no token here). The project id is a number as the
// placeholder asks.
const readmeMetadata = () => ({
  script: `import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  vus: 2,
  duration: '2s',
  thresholds: {
      http_req_duration: ['p(95)<50']
  },
  ext: {
    loadimpact: {
      name: 'dev/podinfo',
      projectID: 123456,
    },
  },
};

export default function () {
  http.get(\`http://127.0.0.1:${target.port}/?key=\${__ENV.KEY}&test_var=\${__ENV.TEST_VAR}\`);
  sleep(0.10);
}
`,
  upload_to_cloud: 'false',
  slack_channels: 'channel1,channel2',
  notification_context: 'My Cluster: `dev-us-east-1`',
  min_failure_delay: '2m',
  wait_for_results: 'true',
  env_vars: '{"KEY": "value"}',
  kubernetes_secrets: '{"TEST_VAR": "other-namespace/secret-name/secret-key"}',
});

/** Secrets of a test cluster: other-namespace/secret-name has secret-key. */
const secrets: SecretSource & { asked: SecretRefSpec[] } = {
  asked: [],
  async resolve(refs) {
    this.asked.push(...refs);
    return Object.fromEntries(refs.map((r) => [r.env, `${r.namespace}.${r.name}.${r.key}`]));
  },
};

const body = () => ({
  name: 'podinfo',
  namespace: 'test',
  phase: 'Progressing',
  checksum: 'rev-1',
  metadata: readmeMetadata(),
});

describe("the original's README webhook", () => {
  test('by default: 403 naming kubernetes_secrets and the switch, no secret read', async () => {
    await using d = startInProcess({ secrets });
    const res = await postLaunch(d.url, body());
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).toContain('kubernetes_secrets');
    expect(text).toContain('"other-namespace"');
    expect(text).toContain('--secrets-namespaces');
    expect(secrets.asked).toEqual([]);
  });

  test('with --secrets-namespaces other-namespace: 200, both variables reach the script', async () => {
    await using d = startInProcess({ secrets, args: ['--secrets-namespaces', 'other-namespace'] });
    seen.length = 0;
    const res = await postLaunch(d.url, body());
    expect(res.status).toBe(200);
    expect(secrets.asked).toEqual([
      { env: 'TEST_VAR', namespace: 'other-namespace', name: 'secret-name', key: 'secret-key' },
    ]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBe('?key=value&test_var=other-namespace.secret-name.secret-key');
  }, 30_000);
});
