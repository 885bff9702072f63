// script_configmap against a real kube-apiserver: example/extras' multi-file ConfigMap (entry +
// lib.js + data.json) run locally by the k6 double (its import and open() decide which paths it
// requests), a k6 archive from binaryData, the 400s that name the field (no ConfigMap, no key,
// a key that is not a file name), the 400 (not enabled) without `get` on ConfigMaps; then on the kwok
// cluster, the job and k6-operator runners mount the ConfigMap by reference (no copy made) and
// leave it in place when the run's objects go.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
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
import { RUNNER_RULES, SCRIPT_CONFIGMAP_RULES } from '../helpers/runner-rbac.ts';
import { k6Archive } from '../helpers/k6-archive.ts';

const example = parseAllDocuments(
  readFileSync(join(REPO, 'example/extras/canary-script-from-configmap.yaml'), 'utf8'),
).map((d) => d.toJSON());
const exampleConfigMap = example.find((d) => d.kind === 'ConfigMap');
const exampleHook = example.find((d) => d.kind === 'Canary').spec.analysis.webhooks[0];

// The transport k6gate uses, recording the objects it POSTs for a run (not the Events it
// records on the Canary).
function recording(real: KubeTransport) {
  const posted: { path: string; body: any }[] = [];
  const kube: KubeTransport = {
    server: real.server,
    get: (path, signal) => real.get(path, signal),
    request: (method, path, init) => {
      if (method === 'POST' && !path.endsWith('/events')) posted.push({ path, body: init?.body });
      return real.request(method, path, init);
    },
  };
  return { kube, posted };
}

describeKube('script_configmap against a real API server', () => {
  let cluster: KubeCluster;
  let ns: string;
  let kube: KubeTransport;
  const paths: string[] = [];
  const target = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) => (paths.push(new URL(req.url).pathname), new Response('ok')),
  });
  afterAll(() => target.stop(true));

  beforeAll(async () => {
    cluster = await getKubeCluster();
    ({ ns, kube } = await runnerNamespace(cluster.env, 'scripts', [
      ...SCRIPT_CONFIGMAP_RULES,
      ...RUNNER_RULES.job,
      ...RUNNER_RULES['k6-operator'],
    ]));
    await cluster.env.admin('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      ...exampleConfigMap,
      metadata: { name: exampleConfigMap.metadata.name },
    });
  }, 120_000);

  const hookMetadata = (extra: Record<string, string> = {}) => ({
    ...exampleHook.metadata,
    env_vars: JSON.stringify({ TARGET: `http://127.0.0.1:${target.port}` }),
    ...extra,
  });

  test("example/extras' ConfigMap Canary through the daemon: test.js imports lib.js and opens data.json", async () => {
    await using d = startInProcess({ kube });
    expect(exampleHook.metadata.script_configmap).toBe('podinfo-load-test/test.js');
    const res = await postLaunch(
      d.url,
      flaggerPayload(hookMetadata(), { namespace: ns, name: 'podinfo-cm' }),
    );
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('script: ');
    // data.json's paths, normalised by lib.js ("healthz" → "/healthz"), were requested.
    expect(new Set(paths)).toEqual(new Set(['/', '/healthz']));
  }, 60_000);

  test('a k6 archive in binaryData runs as such (its entry, module and data file)', async () => {
    const tar = k6Archive('/home/u/test.js', {
      '/home/u/test.js':
        "import { who } from './lib.js';\nconst d = JSON.parse(open('./data.json'));\nexport default function () { console.log(`archive says ${who} ${d.n}`); }\n",
      '/home/u/lib.js': "export const who = 'hello';\n",
      '/home/u/data.json': '{"n": 42}\n',
    });
    await cluster.env.admin('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      metadata: { name: 'archived' },
      binaryData: { 'test.tar': Buffer.from(tar).toString('base64') },
    });
    await using d = startInProcess({ kube });
    const res = await postLaunch(
      d.url,
      flaggerPayload(
        { script_configmap: 'archived/test.tar', env_vars: '{"K6_DOUBLE_MODE":"load"}' },
        { namespace: ns, name: 'archive' },
      ),
    );
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('archive says hello 42');
  }, 60_000);

  test.each([
    [
      'nope',
      /^error while validating request: metadata\.script_configmap: ConfigMap "nope" not found in namespace "scripts-/,
    ],
    [
      'podinfo-load-test/main.js',
      /^error while validating request: metadata\.script_configmap: ConfigMap "podinfo-load-test" has no key "main.js" \(its keys: data\.json, lib\.js, test\.js\)\n$/,
    ],
    [
      'podinfo-load-test/../x',
      /^error while validating request: metadata\.script_configmap: expected "name" or "name\/key"/,
    ],
    [
      'podinfo-load-test/..',
      /^error while validating request: metadata\.script_configmap: the key part is not a valid/,
    ],
  ])('script_configmap %p: 400 naming the field', async (ref, message) => {
    await using d = startInProcess({ kube });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script_configmap: ref }, { namespace: ns, name: 'bad' }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(message);
  });

  test('without `get` on ConfigMaps: 400 (not enabled) naming the chart value, never a run', async () => {
    const other = await cluster.env.createNamespace('noread');
    await cluster.env.admin('POST', `/api/v1/namespaces/${other}/configmaps`, {
      metadata: { name: 'podinfo-load-test' },
      data: { 'test.js': 'export default function () {}' },
    });
    await using d = startInProcess({ kube });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script_configmap: 'podinfo-load-test' }, { namespace: other, name: 'x' }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(`k6gate may not get configmaps in namespace "${other}"`);
    expect(d.lines.some((l) => l.includes('launched k6'))).toBe(false);
  });

  test.each(['job', 'k6-operator'] as const)(
    'runner %s mounts the ConfigMap by reference: no copy, 200, and the ConfigMap stays',
    async (runner) => {
      const operator = runner === 'k6-operator' ? getOperatorDouble(cluster) : undefined;
      const rec = recording(kube);
      await using d = startInProcess({ kube: rec.kube, args: ['--start-timeout', '30s'] });
      const res = await postLaunch(
        d.url,
        flaggerPayload(hookMetadata({ runner }), { namespace: ns, name: `cm-${runner}` }),
      );
      expect(res.status).toBe(200);
      expect(rec.posted.map((p) => p.path.split('/').at(-1))).toEqual([
        runner === 'job' ? 'jobs' : 'testruns',
      ]);
      const object = rec.posted[0]!.body;
      if (runner === 'job') {
        const pod = object.spec.template.spec;
        expect(pod.volumes).toContainEqual({
          name: 'script',
          configMap: { name: 'podinfo-load-test' },
        });
        expect(pod.containers[0].args).toContain('/scripts/test.js');
      } else {
        expect(object.spec.script).toEqual({
          configMap: { name: 'podinfo-load-test', file: 'test.js' },
        });
        expect(operator!.stages.get(`${ns}/${object.metadata.name}`)).toContain('started');
      }
      // Only the users' ConfigMaps remain once the run's objects are gone.
      await until(async () => {
        const left = await objectsLeft(cluster.env, ns);
        return (
          left.includes('ConfigMap/podinfo-load-test') &&
          left.every((o) => o.startsWith('ConfigMap/') && !o.startsWith('ConfigMap/k6gate-'))
        );
      }, 'the cascade, the ConfigMap left in place');
    },
    60_000,
  );
});
