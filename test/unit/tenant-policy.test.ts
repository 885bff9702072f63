// The tenant policy (launch/policy.ts over compose/policy.ts and auth/limits.ts): what a caller
// may run — runners, images, pod-option keys, resources, secrets — from the daemon's settings,
// narrowed per client by the auth file; each refusal a 403 naming the field and the setting.

import { describe, expect, test } from 'bun:test';
import { parseAuthFile } from '../../src/auth/clients.ts';
import { daemonPolicy } from '../../src/compose/policy.ts';
import { configFrom } from '../helpers/config.ts';
import { Forbidden, UsageError } from '../../src/core/errors.ts';
import { compileImageAllowList } from '../../src/core/image-ref.ts';
import { parseLaunchPayload } from '../../src/flagger/payload.ts';
import { createLaunchPolicy } from '../../src/launch/policy.ts';
import type { Client } from '../../src/auth/clients.ts';
import { createCapturingLogger } from '../helpers/daemon.ts';

const request = (metadata: Record<string, string>) =>
  parseLaunchPayload({
    name: 'web',
    namespace: 'team-a',
    phase: 'Progressing',
    metadata: { script: 'export default function () {}', ...metadata },
  });

function policyOf(argv: string[], hasKube: boolean) {
  const captured = createCapturingLogger();
  const config = configFrom(argv, {});
  const policy = createLaunchPolicy(daemonPolicy(config, hasKube, captured.logger));
  return { policy, logger: captured };
}

// The error a check throws (or undefined), as [status, field, message].
function refusal(check: () => void): [number, string, string] | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (!(err instanceof Forbidden)) throw err;
    return [err.status, err.field ?? '', err.message];
  }
}

describe('runners a caller may use (--runners-allowed)', () => {
  test('without a Kubernetes client: local (the pod runners are not enabled: a 400 saying so)', () => {
    const { policy } = policyOf([], false);
    expect(refusal(() => policy(request({}), undefined))).toBeUndefined();
    const { policy: listed } = policyOf(['--runners-allowed', 'local'], false);
    expect(refusal(() => listed(request({ runner: 'job' }), undefined))).toEqual([
      403,
      'metadata.runner',
      'runner "job" is not allowed (--runners-allowed: local)',
    ]);
  });

  test('with one: the pod runners only, and --runner local does not start', () => {
    expect(() => policyOf([], true)).toThrow(UsageError);
    expect(() => policyOf([], true)).toThrow(/can read its service account token/);
    const { policy } = policyOf(['--runner', 'job'], true);
    expect(refusal(() => policy(request({ runner: 'local' }), undefined))).toEqual([
      403,
      'metadata.runner',
      'runner "local" is not allowed (--runners-allowed: job, k6-operator)',
    ]);
    expect(refusal(() => policy(request({}), undefined))).toBeUndefined();
  });

  test('local listed beside a Kubernetes client is allowed, with a warning at start', () => {
    const { policy, logger } = policyOf(['--runners-allowed', 'local,job'], true);
    expect(refusal(() => policy(request({}), undefined))).toBeUndefined();
    expect(
      logger.records.some((l) => l.level === 'warn' && /service account token/.test(String(l.msg))),
    ).toBe(true);
  });
});

describe('pod options (each option refused unless its keys are allowed)', () => {
  const { policy } = policyOf(
    [
      '--runner',
      'job',
      '--runner-label-keys-allowed',
      'team,example.com/*',
      '--toleration-keys-allowed',
      'loadtest',
      '--runner-images-allowed',
      'grafana/k6,registry.example/k6/*',
    ],
    true,
  );
  test.each([
    [
      { runner_labels: '{"app":"podinfo-primary"}' },
      'metadata.runner_labels',
      /key "app" is not allowed \(--runner-label-keys-allowed\)/,
    ],
    [
      { runner_annotations: '{"container.apparmor.security.beta.kubernetes.io/k6":"unconfined"}' },
      'metadata.runner_annotations',
      /--runner-annotation-keys-allowed/,
    ],
    [
      { node_selector: '{"node-role.kubernetes.io/control-plane":""}' },
      'metadata.node_selector',
      /--node-selector-keys-allowed/,
    ],
    [{ tolerations: '[{"operator":"Exists"}]' }, 'metadata.tolerations.0', /tolerates every taint/],
    [
      { tolerations: '[{"key":"node-role.kubernetes.io/control-plane","operator":"Exists"}]' },
      'metadata.tolerations.0.key',
      /--toleration-keys-allowed/,
    ],
    [
      { runner_resources: '{"requests":{"cpu":"900","memory":"4000Gi"}}' },
      'metadata.runner_resources.requests.cpu',
      /900 is over the ceiling 4 \(--max-runner-resources\)/,
    ],
    [
      { runner_resources: '{"limits":{"memory":"9Gi"}}' },
      'metadata.runner_resources.limits.memory',
      /over the ceiling 8Gi/,
    ],
    [
      { runner_image: 'grafana/k6-evil/backdoor:latest' },
      'metadata.runner_image',
      /--runner-images-allowed/,
    ],
    [
      { runner_image: 'grafana/k6-evil:latest' },
      'metadata.runner_image',
      /--runner-images-allowed/,
    ],
    [
      { runner_image: 'registry.example/k6/deep/er:1' },
      'metadata.runner_image',
      /--runner-images-allowed/,
    ],
  ])('%o → 403 on %s', (meta, field, message) => {
    const r = refusal(() => policy(request(meta), undefined));
    expect(r?.[0]).toBe(403);
    expect(r?.[1]).toBe(field);
    expect(r?.[2]).toMatch(message);
  });

  test('what the operator allowed passes', () => {
    const allowed: Record<string, string>[] = [
      { runner_labels: '{"team":"a","example.com/cost":"x"}' },
      { tolerations: '[{"key":"loadtest","operator":"Exists","effect":"NoSchedule"}]' },
      { runner_resources: '{"requests":{"cpu":"3500m","memory":"8Gi"}}' },
      { runner_image: 'grafana/k6:2.1.0' },
      {
        runner_image:
          'grafana/k6@sha256:65c920dc067d5e2e00befbf982af6ad6ad0117034e8b1c65817c7975c52d4669',
      },
      { runner_image: 'registry.example/k6/custom:1' },
    ];
    for (const meta of allowed) {
      expect(refusal(() => policy(request(meta), undefined))).toBeUndefined();
    }
  });
});

describe('secrets (--secrets-allowed), for every runner', () => {
  test.each(['local', 'job'])('%s: a secret outside the list is refused', (runner) => {
    const { policy } = policyOf(
      ['--runners-allowed', 'local,job', '--secrets-allowed', 'k6-*'],
      true,
    );
    const r = refusal(() =>
      policy(request({ runner, kubernetes_secrets: '{"KEY":"app-tls/tls.key"}' }), undefined),
    );
    expect(r).toEqual([
      403,
      'metadata.kubernetes_secrets.KEY',
      'secret "app-tls" is not allowed (--secrets-allowed)',
    ]);
    expect(
      refusal(() =>
        policy(request({ runner, kubernetes_secrets: '{"T":"k6-creds/token"}' }), undefined),
      ),
    ).toBeUndefined();
  });
});

describe('a client narrows the daemon, never widens it', () => {
  const clients = parseAuthFile(`clients:
  - name: team-a
    token_sha256: "${'a'.repeat(64)}"
    namespaces: [team-a]
    policy:
      runners: [job]
      images: [grafana/k6, evil/k6]
      secrets: [team-a-*]
      runner_label_keys: ["*"]
      max_parallelism: 2
      max_runner_resources: {cpu: "1"}
`);
  const client = clients[0]?.client as Client;
  const { policy } = policyOf(
    [
      '--runners-allowed',
      'job,k6-operator',
      '--runner',
      'job',
      '--runner-images-allowed',
      'grafana/k6',
      '--runner-label-keys-allowed',
      'team',
    ],
    true,
  );
  test.each([
    [
      { runner: 'k6-operator' },
      'metadata.runner',
      'runner "k6-operator" is not allowed (client "team-a" policy.runners: job)',
    ],
    [
      { kubernetes_secrets: '{"S":"shared/x"}' },
      'metadata.kubernetes_secrets.S',
      'secret "shared" is not allowed (client "team-a" policy.secrets)',
    ],
    [
      { runner_resources: '{"limits":{"cpu":"2"}}' },
      'metadata.runner_resources.limits.cpu',
      '2 is over the ceiling 1 (client "team-a" policy.max_runner_resources)',
    ],
    // The client lists evil/k6 and every label key; the daemon still refuses both.
    [
      { runner_image: 'evil/k6:1' },
      'metadata.runner_image',
      'image "evil/k6:1" is not allowed (--runner-images-allowed)',
    ],
    [
      { runner_labels: '{"app":"x"}' },
      'metadata.runner_labels',
      'key "app" is not allowed (--runner-label-keys-allowed)',
    ],
  ])('%o → %s', (meta, field, message) => {
    expect(refusal(() => policy(request(meta), client))).toEqual([403, field, message]);
  });
  test("within both, it passes; another client without a policy has the daemon's", () => {
    expect(
      refusal(() =>
        policy(
          request({ runner_labels: '{"team":"a"}', kubernetes_secrets: '{"S":"team-a-db/pw"}' }),
          client,
        ),
      ),
    ).toBeUndefined();
    expect(
      refusal(() =>
        policy(request({ parallelism: '3', runner: 'k6-operator' }), {
          name: 'b',
          mayUse: () => true,
        }),
      ),
    ).toBeUndefined();
  });
  test('max_parallelism', () => {
    const { policy: p } = policyOf(['--runner', 'k6-operator'], true);
    const narrow = parseAuthFile(
      `clients:\n  - name: b\n    token: "${'t'.repeat(16)}"\n    namespaces: ["*"]\n    policy: {max_parallelism: 2}\n`,
    )[0]?.client as Client;
    expect(refusal(() => p(request({ parallelism: '3' }), narrow))).toEqual([
      403,
      'metadata.parallelism',
      'at most 2 runner pods (client "b" policy.max_parallelism)',
    ]);
  });
});

test('images match as repositories', () => {
  const allowed = compileImageAllowList([
    'grafana/k6',
    'registry.example:5000/k6/*',
    'ghcr.io/x/k6:1.0',
  ]);
  const yes = [
    'grafana/k6',
    'grafana/k6:2.1.0',
    'grafana/k6@sha256:00',
    'grafana/k6:2@sha256:00',
    'registry.example:5000/k6/a:1',
    'ghcr.io/x/k6:1.0',
  ];
  const no = [
    'grafana/k6-evil',
    'grafana/k6/x',
    'grafana/k6-evil/backdoor:latest',
    'docker.io/grafana/k6',
    'registry.example:5000/k6/a/b:1',
    'registry.example:5000/k6',
    'ghcr.io/x/k6:1.1',
  ];
  expect(yes.filter((i) => !allowed(i))).toEqual([]);
  expect(no.filter(allowed)).toEqual([]);
});
