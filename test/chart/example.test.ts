// example/ as users get it: each Canary's k6 script is valid JavaScript with thresholds on
// http_req_failed and http_req_duration, metadata values are strings, the webhook URL is the
// one the chart prints for the example's release, and the inline script, sent to k6gate as
// Flagger sends it (k6 played by the k6 double in load mode), passes against a healthy target
// and fails with the first lines example/README.md shows against one failing a third of its
// requests (podinfo's --random-error).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, startInProcess } from '../helpers/daemon.ts';

const EXAMPLE = join(REPO, 'example');
const WEBHOOK_URL = 'http://k6gate.flagger-system:8000/launch-test';

type Doc = { kind?: string; metadata: { name: string; namespace?: string }; [k: string]: any };
type Webhook = { name: string; type: string; url: string; metadata: Record<string, unknown> };

const docs: Doc[] = ['', 'extras', 'pod-runners']
  .flatMap((dir) =>
    readdirSync(join(EXAMPLE, dir))
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .map((f) => join(EXAMPLE, dir, f)),
  )
  .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as Doc))
  .filter((d) => d?.kind);
const canaries = docs.filter((d) => d.kind === 'Canary');
const hooksOf = (c: Doc) => c.spec.analysis.webhooks as Webhook[];
const inlineCanary = canaries.find((c) => c.metadata.name === 'podinfo') as Doc;
const inlineHook = hooksOf(inlineCanary)[0] as Webhook;

/** Every k6 script in example/: inline in a webhook, or in a ConfigMap. */
const scripts: [string, string][] = [
  ...canaries.flatMap((c) =>
    hooksOf(c)
      .filter((h) => typeof h.metadata.script === 'string')
      .map((h): [string, string] => [`Canary ${c.metadata.name}`, h.metadata.script as string]),
  ),
  // A ConfigMap's entry script (the key a Canary's script_configmap names), not its modules or data.
  ...canaries.flatMap((c) =>
    hooksOf(c)
      .filter((h) => typeof h.metadata.script_configmap === 'string')
      .map((h): [string, string] => {
        const [name, key = 'test.js'] = (h.metadata.script_configmap as string).split('/');
        const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === name);
        return [`ConfigMap ${name}/${key}`, cm?.data?.[key] ?? ''];
      }),
  ),
];

test('example/ has the inline Canary, the pod-runner Canaries and the ConfigMap variant (extras/)', () => {
  expect(canaries.map((c) => c.metadata.name).sort()).toEqual([
    'podinfo',
    'podinfo-big',
    'podinfo-cm',
    'podinfo-job',
  ]);
  expect(scripts.length).toBe(4);
});

test.each(scripts)('%s: the script is valid JavaScript with both thresholds', (_, script) => {
  const transpiler = new Bun.Transpiler({ loader: 'js' });
  // The check has teeth: the original example's `${__ENV.PROJECT_ID}` outside a template literal.
  expect(() => transpiler.transformSync('const o = { id: ${__ENV.PROJECT_ID} };')).toThrow();
  expect(() => transpiler.transformSync(script)).not.toThrow();
  expect(transpiler.scan(script).imports.map((i) => i.path)).toContain('k6/http');
  expect(script).toMatch(/http_req_failed:\s*\[/);
  expect(script).toMatch(/http_req_duration:\s*\[/);
});

test.each(canaries.map((c) => [c.metadata.name, c] as const))(
  'Canary %s: pre-rollout hook to the chart URL, string metadata',
  (_, canary) => {
    for (const hook of hooksOf(canary)) {
      expect(hook.type).toBe('pre-rollout');
      expect(hook.url).toBe(WEBHOOK_URL);
      for (const [key, value] of Object.entries(hook.metadata))
        expect({ key, type: typeof value }).toEqual({ key, type: 'string' });
    }
  },
);

test('the README and the values install the release the Canaries call', () => {
  const readme = readFileSync(join(EXAMPLE, 'README.md'), 'utf8');
  expect(readme).toContain(WEBHOOK_URL);
  expect(readme).toContain('helm upgrade --install k6gate ../charts/k6gate -n flagger-system');
  expect(readFileSync(join(EXAMPLE, 'helm/k6gate-values.yaml'), 'utf8')).toContain(WEBHOOK_URL);
});

describe('the inline script through k6gate (k6 double)', () => {
  let requests = 0;
  const healthy = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('ok') });
  const broken = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => new Response('boom', { status: ++requests % 3 === 0 ? 500 : 200 }),
  });
  let daemon: ReturnType<typeof startInProcess>;
  beforeAll(() => {
    daemon = startInProcess();
  });
  afterAll(async () => {
    await daemon.close();
    await healthy.stop(true);
    await broken.stop(true);
  });

  /** What Flagger POSTs for the pre-rollout hook, with TARGET pointed at a loopback server. */
  async function callHook(target: string) {
    const metadata = {
      ...inlineHook.metadata,
      env_vars: JSON.stringify({ TARGET: target }),
      slack_channels: '',
    };
    const res = await fetch(`${daemon.url}/launch-test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: inlineCanary.metadata.name,
        namespace: inlineCanary.metadata.namespace,
        phase: 'Progressing',
        checksum: '85d557f47b',
        type: 'pre-rollout',
        metadata,
      }),
    });
    return { status: res.status, lines: (await res.text()).split('\n') };
  }

  test('a healthy canary passes: 200', async () => {
    expect(JSON.parse(inlineHook.metadata.env_vars as string)).toEqual({
      TARGET: 'http://podinfo-canary.test:9898',
    });
    const res = await callHook(`http://127.0.0.1:${healthy.port}`);
    expect(res.status).toBe(200);
  }, 90_000);

  test('a broken canary fails: 400 with the reason Flagger records, then fails fast', async () => {
    const res = await callHook(`http://127.0.0.1:${broken.port}`);
    expect(requests).toBeGreaterThan(100);
    expect(res.status).toBe(400);
    expect(res.lines[0]).toBe(
      'failed to run: exit status 99 (thresholds crossed: http_req_failed)',
    );
    const again = await callHook(`http://127.0.0.1:${broken.port}`);
    expect(again.status).toBe(400);
    expect(again.lines[0]).toStartWith('not enough time since last failure (min_failure_delay');
  }, 90_000);
});
