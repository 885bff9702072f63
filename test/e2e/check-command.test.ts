// `k6gate check` (the compiled binary): every Canary in example/ passes; a Canary with the
// mistakes /launch-test would refuse (an unquoted boolean, a typo key, a bad compare rule,
// JSON that is not JSON) fails with exit 1 and names each field; unreadable YAML exits 2.

import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPILED, REPO } from '../helpers/daemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'k6gate-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(...files: string[]) {
  const p = Bun.spawnSync([COMPILED, 'check', ...files], { stdout: 'pipe', stderr: 'pipe' });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

test('every Canary of example/ is valid', () => {
  const files = [
    'example/canary.yaml',
    'example/gated/canary.yaml',
    'example/extras/canary-script-from-configmap.yaml',
    'example/pod-runners/podinfo-job.yaml',
    'example/pod-runners/podinfo-k6-operator.yaml',
  ].map((f) => join(REPO, f));
  const r = check(...files);
  expect(r.err).toBe('');
  expect(r.out).toContain('5 k6gate webhook(s) checked, 0 invalid');
  expect(r.code).toBe(0);
});

test('the mistakes /launch-test would refuse, each named; other documents and hooks skipped', () => {
  const hook = (name: string, metadata: string) => `
      - name: ${name}
        type: pre-rollout
        url: http://k6gate.flagger:8000/launch-test
        metadata:
${metadata}`;
  const file = join(dir, 'canary.yaml');
  writeFileSync(
    file,
    `apiVersion: v1
kind: ConfigMap
metadata: { name: not-a-canary }
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: { name: shop, namespace: team-a }
spec:
  analysis:
    webhooks:
      - name: some-other-hook
        url: http://loadtester.flagger/
${hook('unquoted', '          script: "export default function () {}"\n          wait_for_results: false')}
${hook('typo', '          script: "export default function () {}"\n          wait_for_result: "false"')}
${hook('rule', '          script: "export default function () {}"\n          compare: "http_req_duration.p95 <= baseline"')}
${hook('json', '          script: "export default function () {}"\n          env_vars: "{TARGET: x}"')}
${hook('good', '          script: "export default function () {}"\n          compare: "http_req_failed.rate <= baseline + 0.01"\n          baseline: primary\n          baseline_env_vars: \'{"TARGET": "http://shop-primary.team-a"}\'')}
`,
  );
  const r = check(file);
  expect(r.code).toBe(1);
  expect(r.err).toContain(
    'Canary team-a/shop webhook unquoted: metadata.wait_for_results: expected a string',
  );
  expect(r.err).toContain(
    'webhook typo: metadata.wait_for_result: unknown key; did you mean "wait_for_results"?',
  );
  expect(r.err).toContain(
    'webhook rule: metadata.compare: rule 1 "http_req_duration.p95 <= baseline"',
  );
  expect(r.err).toContain('webhook json: metadata.env_vars:');
  expect(r.out).toContain('webhook good: ok (default runner, compared with the primary baseline)');
  expect(r.out).toContain('5 k6gate webhook(s) checked, 4 invalid');
  expect(r.out + r.err).not.toContain('some-other-hook');
});

test('a file that is not YAML exits 2; no file prints the usage and exits 2', () => {
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'kind: Canary\n  spec: [unclosed\n');
  const r = check(file);
  expect(r.code).toBe(2);
  expect(r.err).toContain('cannot read it as YAML');
  const none = check();
  expect(none.code).toBe(2);
  expect(none.err).toContain('Usage: k6gate check');
  expect(check('--help').code).toBe(0);
});
