// The bad-input table: each request gets a 4xx that names the problem, never echoes the body,
// and the daemon keeps serving. In-process through app.handle (routing, validation, mapping).

import { describe, expect, test } from 'bun:test';
import { buildTestDaemon } from '../helpers/daemon.ts';

const SECRET = 'TOPSECRET-do-not-echo';
const {
  daemon: { app, semaphore },
  lines,
} = buildTestDaemon({ args: ['--max-body-bytes', '4096'] });

const base = { name: 'podinfo', namespace: 'test', phase: 'Progressing' };
const meta = (m: Record<string, unknown>) =>
  JSON.stringify({ ...base, metadata: { script: 's', ...m } });

type Case = [label: string, init: RequestInit & { path?: string }, status: number, mention: RegExp];
const post = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body,
  headers: { 'Content-Type': 'application/json', ...headers },
});

const CASES: Case[] = [
  ['empty body', post(''), 400, /body: empty body/],
  ['whitespace body', post('   \n'), 400, /body: empty body/],
  ['not JSON', post('bad'), 400, /body: the body is not valid JSON/],
  ['truncated JSON', post('{"name":'), 400, /not valid JSON/],
  ['JSON array', post('[]'), 400, /body: expected a JSON object, got array/],
  ['JSON string', post('"x"'), 400, /expected a JSON object, got string/],
  ['JSON number', post('5'), 400, /got number/],
  ['JSON null', post('null'), 400, /got null/],
  ['empty object', post('{}'), 400, /name: missing name/],
  [
    'missing namespace',
    post(JSON.stringify({ name: 'a', phase: 'p' })),
    400,
    /namespace: missing namespace/,
  ],
  [
    'missing phase',
    post(JSON.stringify({ name: 'a', namespace: 'b' })),
    400,
    /phase: missing phase/,
  ],
  ['name is a number', post(JSON.stringify({ ...base, name: 1 })), 400, /name: expected a string/],
  [
    'name is an object',
    post(JSON.stringify({ ...base, name: {} })),
    400,
    /name: expected a string/,
  ],
  [
    'name has a slash',
    post(JSON.stringify({ ...base, name: 'a/b' })),
    400,
    /name: not a valid name/,
  ],
  [
    'namespace uppercase',
    post(JSON.stringify({ ...base, namespace: 'Test' })),
    400,
    /namespace: not a valid namespace/,
  ],
  [
    'namespace too long',
    post(JSON.stringify({ ...base, namespace: 'a'.repeat(64) })),
    400,
    /namespace/,
  ],
  [
    'phase with spaces',
    post(JSON.stringify({ ...base, phase: 'a b' })),
    400,
    /phase: not a valid phase/,
  ],
  [
    'checksum a number',
    post(JSON.stringify({ ...base, checksum: 5, metadata: { script: 's' } })),
    400,
    /checksum/,
  ],
  [
    'metadata a string',
    post(JSON.stringify({ ...base, metadata: SECRET })),
    400,
    /metadata: expected an object/,
  ],
  [
    'metadata an array',
    post(JSON.stringify({ ...base, metadata: [] })),
    400,
    /metadata: expected an object of strings, got array/,
  ],
  ['no metadata', post(JSON.stringify(base)), 400, /metadata.script: missing script/],
  ['empty script', post(meta({ script: '' })), 400, /metadata.script: missing script/],
  ['script a number', post(meta({ script: 5 })), 400, /metadata.script: expected a string/],
  [
    'script and script_configmap',
    post(meta({ script_configmap: 'tests' })),
    400,
    /metadata.script_configmap: set either script or script_configmap, not both\n$/,
  ],
  [
    'script_configmap with a namespace',
    post(JSON.stringify({ ...base, metadata: { script_configmap: 'other-ns/tests/test.js' } })),
    400,
    /metadata.script_configmap: expected "name" or "name\/key"/,
  ],
  [
    'script_configmap key a path',
    post(JSON.stringify({ ...base, metadata: { script_configmap: 'tests/..' } })),
    400,
    /metadata.script_configmap: the key part is not a valid ConfigMap key/,
  ],
  [
    'script_configmap without a kubernetes client: not enabled here (400, which Flagger shows)',
    post(JSON.stringify({ ...base, metadata: { script_configmap: 'tests' } })),
    400,
    /script_configmap needs --kubernetes-client/,
  ],
  [
    'mode "async"',
    post(meta({ mode: 'async' })),
    400,
    /metadata.mode: expected "stateful" or "blocking"/,
  ],
  [
    'upload_to_cloud a boolean',
    post(meta({ upload_to_cloud: true })),
    400,
    /metadata.upload_to_cloud: expected a string/,
  ],
  [
    'upload_to_cloud "yes"',
    post(meta({ upload_to_cloud: SECRET })),
    400,
    /metadata.upload_to_cloud: expected a boolean/,
  ],
  [
    'wait_for_results "nope"',
    post(meta({ wait_for_results: 'nope' })),
    400,
    /metadata.wait_for_results/,
  ],
  [
    'wait_for_results null',
    post(meta({ wait_for_results: null })),
    400,
    /metadata.wait_for_results: expected a string, got null/,
  ],
  [
    'min_failure_delay "2 minutes"',
    post(meta({ min_failure_delay: '2 minutes' })),
    400,
    /metadata.min_failure_delay: expected a Go duration/,
  ],
  [
    'min_failure_delay "1d"',
    post(meta({ min_failure_delay: '1d' })),
    400,
    /metadata.min_failure_delay/,
  ],
  [
    'min_failure_delay a number',
    post(meta({ min_failure_delay: 120 })),
    400,
    /metadata.min_failure_delay: expected a string, got number/,
  ],
  [
    'slack_channels an array',
    post(meta({ slack_channels: ['a'] })),
    400,
    /metadata.slack_channels: expected a string, got array/,
  ],
  [
    'env_vars an object (not a string)',
    post(meta({ env_vars: { A: 'b' } })),
    400,
    /metadata.env_vars: expected a string, got object/,
  ],
  [
    'env_vars "[]"',
    post(meta({ env_vars: '[]' })),
    400,
    /metadata.env_vars: expected a JSON object of strings, got array/,
  ],
  [
    'env_vars not JSON',
    post(meta({ env_vars: `{A:${SECRET}}` })),
    400,
    /metadata.env_vars: .*not valid JSON/,
  ],
  [
    'env_vars number value',
    post(meta({ env_vars: '{"A":1}' })),
    400,
    /metadata.env_vars.A: expected a string value, got number/,
  ],
  [
    'env_vars bad name',
    post(meta({ env_vars: '{"=A":"x"}' })),
    400,
    /metadata.env_vars: environment variable names/,
  ],
  [
    'env_vars name with a newline (never echoed raw)',
    post(meta({ env_vars: '{"A\\nInjected: yes":"x"}' })),
    400,
    /^error while validating request: metadata.env_vars: environment variable names must match/,
  ],
  [
    'env_vars name starting with a digit',
    post(meta({ env_vars: '{"1A":"x"}' })),
    400,
    /must match/,
  ],
  ...['PATH', 'HOME', 'TMPDIR', 'K6_NO_USAGE_REPORT', 'K6_OUT', 'K6_CONFIG', 'https_proxy'].map(
    (name): Case => [
      `env_vars may not set ${name}`,
      post(meta({ env_vars: JSON.stringify({ [name]: 'x' }) })),
      400,
      new RegExp(
        `metadata\\.env_vars\\.${name}: ${name} may not be set: it is set by k6gate or changes where k6 sends data or what it loads`,
      ),
    ],
  ),
  ...[
    'K6_CLOUD_HOST',
    'K6_CLOUD_TOKEN',
    'K6_PROMETHEUS_RW_SERVER_URL',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
  ].map((name): Case => [
    `env_vars may not set ${name} (reserved prefix)`,
    post(meta({ env_vars: JSON.stringify({ [name]: 'x' }) })),
    400,
    new RegExp(`metadata\\.env_vars\\.${name}: ${name} may not be set: it starts with`),
  ]),
  [
    'kubernetes_secrets may not set LD_PRELOAD',
    post(meta({ kubernetes_secrets: '{"LD_PRELOAD":"s/k"}' })),
    400,
    /metadata.kubernetes_secrets.LD_PRELOAD: LD_PRELOAD may not be set/,
  ],
  [
    'text/plain body',
    { method: 'POST', body: meta({}), headers: { 'Content-Type': 'text/plain' } },
    415,
    /^expected Content-Type: application\/json/,
  ],
  [
    'no Content-Type',
    { method: 'POST', body: meta({}) },
    415,
    /^expected Content-Type: application\/json/,
  ],
  [
    'runner unknown',
    post(meta({ runner: 'k8s' })),
    400,
    /metadata.runner: expected one of local, job/,
  ],
  [
    'runner job without a kubernetes client: not enabled here (400, which Flagger shows)',
    post(meta({ runner: 'job' })),
    400,
    /runner "job" is not enabled on this k6gate: pod runners need --kubernetes-client \/ KUBERNETES_CLIENT \(chart: kubernetes.enabled=true and runners.enabled\)/,
  ],
  [
    'runner_labels value too long',
    post(meta({ runner_labels: JSON.stringify({ team: 'x'.repeat(64) }) })),
    400,
    /metadata.runner_labels.team: expected a label value/,
  ],
  [
    'runner_labels bad key',
    post(meta({ runner_labels: '{"bad key":"v"}' })),
    400,
    /metadata.runner_labels: keys must be Kubernetes label keys/,
  ],
  [
    'runner_annotations not JSON',
    post(meta({ runner_annotations: '{oops' })),
    400,
    /metadata.runner_annotations: expected a JSON object of strings/,
  ],
  [
    'a misspelt key (wait_for_result)',
    post(meta({ wait_for_result: 'false' })),
    400,
    /metadata.wait_for_result: unknown key; did you mean "wait_for_results"\?/,
  ],
  [
    'a misspelt key (slack_channel)',
    post(meta({ slack_channel: 'deploys' })),
    400,
    /metadata.slack_channel: unknown key; did you mean "slack_channels"\?/,
  ],
  [
    'the script key misspelt, no script (scirpt): the typo named, not "missing script"',
    post(JSON.stringify({ ...base, metadata: { scirpt: 'export default function () {}' } })),
    400,
    /metadata.scirpt: unknown key; did you mean "script"\?/,
  ],
  [
    'a misspelt key in capitals (Script)',
    post(meta({ Script: 'x' })),
    400,
    /metadata.Script: unknown key; did you mean "script"\?/,
  ],
  [
    'parallelism 0',
    post(meta({ parallelism: '0' })),
    400,
    /metadata.parallelism: expected a whole number of runner pods from 1 to 1000/,
  ],
  [
    'parallelism not a number',
    post(meta({ parallelism: 'many' })),
    400,
    /metadata.parallelism: expected a whole number/,
  ],
  ['separate not a bool', post(meta({ separate: 'maybe' })), 400, /metadata.separate: expected/],
  [
    'runner_resources with a bad quantity',
    post(meta({ runner_resources: '{"limits":{"cpu":"lots"}}' })),
    400,
    /metadata.runner_resources.limits.cpu: expected a Kubernetes quantity/,
  ],
  [
    'runner_resources with an unknown key',
    post(meta({ runner_resources: '{"gpu":{"count":"1"}}' })),
    400,
    /metadata.runner_resources(.gpu)?: expected only "requests" and "limits"/,
  ],
  [
    'tolerations not an array',
    post(meta({ tolerations: '{"key":"x"}' })),
    400,
    /metadata.tolerations: expected a JSON array of tolerations/,
  ],
  [
    'tolerations with a bad operator',
    post(meta({ tolerations: '[{"key":"x","operator":"Sometimes"}]' })),
    400,
    /metadata.tolerations.0.operator: /,
  ],
  [
    'node_selector bad value',
    post(meta({ node_selector: '{"zone":"a b"}' })),
    400,
    /metadata.node_selector.zone: expected a label value/,
  ],
  [
    'runner_image not an image',
    post(meta({ runner_image: 'Not An Image' })),
    400,
    /metadata.runner_image: expected an image reference/,
  ],
  [
    'a pod option on a local run',
    post(meta({ runner_labels: '{"team":"a"}' })),
    400,
    /metadata.runner_labels: applies to pod runs only \(runner job or k6-operator\); this run is local/,
  ],
  [
    'kubernetes_secrets "[]"',
    post(meta({ kubernetes_secrets: '[]' })),
    400,
    /metadata.kubernetes_secrets: expected a JSON object/,
  ],
  [
    'kubernetes_secrets ref "foo"',
    post(meta({ kubernetes_secrets: '{"A":"foo"}' })),
    400,
    /metadata.kubernetes_secrets.A: expected a secret reference/,
  ],
  [
    'kubernetes_secrets ref "ns//key"',
    post(meta({ kubernetes_secrets: '{"A":"ns//key"}' })),
    400,
    /metadata.kubernetes_secrets.A: the secret name part/,
  ],
  [
    'kubernetes_secrets ref bad key',
    post(meta({ kubernetes_secrets: '{"A":"s/k$y"}' })),
    400,
    /metadata.kubernetes_secrets.A: the key part/,
  ],
  [
    'kubernetes_secrets when none configured: not enabled here (400, which Flagger shows)',
    post(meta({ kubernetes_secrets: '{"A":"s/k"}' })),
    400,
    /kubernetes client is not configured: kubernetes_secrets needs --kubernetes-client \/ KUBERNETES_CLIENT \(chart: kubernetes.enabled=true\)/,
  ],
  [
    'huge body',
    post(JSON.stringify({ ...base, metadata: { script: 'x'.repeat(10_000) } })),
    413,
    /larger than 4096 bytes/,
  ],
  [
    'huge declared length',
    { ...post('{}'), headers: { 'Content-Length': '999999', 'Content-Type': 'application/json' } },
    413,
    /larger than/,
  ],
  ['GET /launch-test', { method: 'GET' }, 405, /method not allowed/],
  ['PUT /launch-test', { method: 'PUT', body: '{}' }, 405, /method not allowed/],
  ['DELETE /launch-test', { method: 'DELETE' }, 405, /method not allowed/],
  [
    'trailing slash is the same route',
    { ...post('{}'), path: '/launch-test/' },
    400,
    /name: missing name/,
  ],
  ['unknown route', { ...post('{}'), path: '/gather-results' }, 404, /404 page not found/],
];

describe('bad input: a clear 4xx, the daemon lives', () => {
  test('the table has at least 40 requests', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  test.each(CASES)('%s', async (_label, init, status, mention) => {
    const { path = '/launch-test', ...rest } = init;
    const res = await app.handle(new Request(`http://localhost${path}`, rest));
    const text = await res.text();
    expect(res.status).toBe(status);
    expect(text).toMatch(mention);
    expect(text).not.toContain(SECRET);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    if (status === 405) expect(res.headers.get('allow')).toBe('POST');
  });

  test('nothing secret reached the logs, no slot was taken', () => {
    expect(lines.join('')).not.toContain(SECRET);
    expect(semaphore.inUse()).toBe(0);
  });

  test('Accept: application/json gets a JSON error with the field', async () => {
    const res = await app.handle(
      new Request('http://localhost/launch-test', {
        ...post(meta({ upload_to_cloud: 'bad' })),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; field: string } };
    expect(body.error).toMatchObject({ code: 'bad_request', field: 'metadata.upload_to_cloud' });
  });

  test('unknown metadata keys are ignored and logged at debug', async () => {
    const res = await app.handle(
      new Request('http://localhost/launch-test', {
        ...post(
          meta({ team_owner: 'web', kubernetes_secrets: '{"A":"s/k"}', min_failure_delay: '0' }),
        ),
      }),
    );
    // Refused for the (unconfigured) secrets, not for the unknown key.
    expect(await res.text()).toContain('kubernetes client is not configured');
    const record = lines
      .map((l) => JSON.parse(l))
      .find((r) => r.msg === 'ignoring unknown metadata keys');
    expect(record).toMatchObject({ level: 'debug', keys: ['team_owner'] });
  });

  test('still healthy afterwards', async () => {
    const res = await app.handle(new Request('http://localhost/health'));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Good to go!');
  });
});
