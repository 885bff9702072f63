// The README's Argo Rollouts AnalysisTemplate, measured as Argo's web metric provider does it
// (the Argo controller itself is not run here): the template is read from the README, its
// {{args.*}} filled, the GET sent with its headers and timeout, `jsonPath: "{$}"` taken as the
// whole answer, and successCondition / failureCondition evaluated on `result` — so the template
// a user copies works against the daemon as written.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadClientDirectory } from '../../src/auth/clients.ts';
import { systemClock } from '../../src/core/clock.ts';
import {
  createCapturingLogger,
  flaggerPayload,
  postLaunch,
  REPO,
  startInProcess,
} from '../helpers/daemon.ts';
import { doubleScript } from '../helpers/processes.ts';

const TOKEN = 'argo-token-0123456789';
const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const block =
  /```yaml\n(apiVersion: argoproj\.io\/v1alpha1\nkind: AnalysisTemplate[\s\S]*?)```/.exec(
    readme,
  )?.[1];
const template = parse(block ?? '') as {
  spec: {
    metrics: {
      successCondition: string;
      failureCondition: string;
      provider: {
        web: {
          url: string;
          timeoutSeconds: number;
          headers: { key: string; value: string }[];
          jsonPath: string;
        };
      };
    }[];
  };
};
const metric = template.spec.metrics[0]!;

const dir = mkdtempSync(join(tmpdir(), 'k6gate-argo-'));
let d: ReturnType<typeof startInProcess>;
beforeAll(() => {
  const auth = join(dir, 'auth.yaml');
  writeFileSync(
    auth,
    `clients:\n  - name: argo\n    token: "${TOKEN}"\n    namespaces: ["shop"]\n`,
  );
  d = startInProcess({
    clients: loadClientDirectory(auth, {
      clock: systemClock,
      logger: createCapturingLogger().logger,
    }),
  });
});
afterAll(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

// `result.status == "passed"` / `!=`: the expressions the README's template uses.
function holds(condition: string, result: Record<string, unknown>): boolean {
  const m = /^result\.(\w+) (==|!=) "([^"]*)"$/.exec(condition.trim());
  if (!m) throw new Error(`the README's condition is not one this test evaluates: ${condition}`);
  const equal = String(result[m[1] as string]) === m[3];
  return m[2] === '==' ? equal : !equal;
}

// One measurement as Argo's web provider takes it: Successful, Failed, or Inconclusive.
async function measure(args: Record<string, string>) {
  const web = metric.provider.web;
  const url = web.url.replace(/\{\{args\.(\w+)\}\}/g, (_, k: string) => args[k] ?? '');
  const headers = Object.fromEntries(
    web.headers.map((h) => [h.key, h.value.replace('<token from the auth file>', TOKEN)]),
  );
  const res = await fetch(url.replace('http://k6gate.k6gate:8000', d.url), {
    headers,
    signal: AbortSignal.timeout(web.timeoutSeconds * 1000),
  });
  expect(res.status).toBe(200); // a non-2xx would be a metric error, not a verdict
  expect(web.jsonPath).toBe('{$}');
  const result = (await res.json()) as Record<string, unknown>;
  const phase = holds(metric.successCondition, result)
    ? 'Successful'
    : holds(metric.failureCondition, result)
      ? 'Failed'
      : 'Inconclusive';
  return { phase, result };
}

async function startRun(directives: string, checksum: string) {
  const res = await postLaunch(
    d.url,
    flaggerPayload(
      { script: doubleScript(directives), wait_for_results: 'false', min_failure_delay: '0' },
      { namespace: 'shop', name: 'cart', checksum },
    ),
    { headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` } },
  );
  expect(res.status).toBe(200);
}

test('the README template is found and waits up to ten minutes', () => {
  expect(block).toBeDefined();
  expect(metric.provider.web.url).toContain('&wait=10m');
  expect(metric.provider.web.timeoutSeconds).toBeGreaterThan(600);
});

test('a passing run: the measurement waits for the verdict and is Successful', async () => {
  await startRun('mode=pass duration=2s', 'rev-a');
  const m = await measure({ namespace: 'shop', canary: 'cart', revision: 'rev-a' });
  expect(m.phase).toBe('Successful');
  expect(m.result).toMatchObject({ status: 'passed', reason: 'all thresholds passed' });
}, 30_000);

test('a failing run: Failed, with k6gate’s reason in the measurement value', async () => {
  await startRun('mode=fail-thresholds duration=1s', 'rev-b');
  const m = await measure({ namespace: 'shop', canary: 'cart', revision: 'rev-b' });
  expect(m.phase).toBe('Failed');
  expect(String(m.result.reason)).toContain('thresholds crossed');
}, 30_000);
