import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/core/errors.ts';
import { renderHelp } from '../../src/config/help.ts';
import { parseArgs } from '../../src/config/parse.ts';
import { SETTINGS } from '../../src/config/settings.ts';
import { configFrom } from '../helpers/config.ts';

describe('config', () => {
  test('defaults', () => {
    const config = configFrom([], {});
    expect(config).toMatchObject({
      listenPort: 8000,
      host: '0.0.0.0',
      maxConcurrentTests: 1000,
      k6Binary: 'k6',
      kubernetesClient: 'none',
      logLevel: 'info',
      logFormat: 'json',
      killGraceMs: 15_000,
      startTimeoutMs: 60_000,
      maxRunMs: 3_600_000,
    });
  });
  test("the original's variables keep working; flags win", () => {
    const env = {
      LISTEN_PORT: '9000',
      MAX_CONCURRENT_TESTS: '5',
      LOG_LEVEL: 'WARNING',
      SLACK_TOKEN: 'x',
    };
    expect(configFrom([], env)).toMatchObject({
      listenPort: 9000,
      maxConcurrentTests: 5,
      logLevel: 'warn',
      slackToken: 'x',
    });
    expect(configFrom(['serve', '--listen-port', '0', '--log-level=debug'], env)).toMatchObject({
      listenPort: 0,
      logLevel: 'debug',
    });
  });
  test.each([
    [['--listen-port', 'abc'], {}, /--listen-port \/ LISTEN_PORT .*"abc".*integer from 0 to 65535/],
    [[], { MAX_CONCURRENT_TESTS: '0' }, /MAX_CONCURRENT_TESTS \(from MAX_CONCURRENT_TESTS\): "0"/],
    [[], { MAX_CONCURRENT_TESTS: '-1' }, /MAX_CONCURRENT_TESTS/],
    [
      [],
      { KUBERNETES_CLIENT: 'incluster' },
      /KUBERNETES_CLIENT.*"incluster".*none, in-cluster, kubeconfig/,
    ],
    [[], { LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [[], { LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [['--kill-grace-period', '5'], {}, /--kill-grace-period.*Go duration/],
    [['--start-timeout', '0s'], {}, /--start-timeout/],
    [[], { SLACK_API_URL: 'not a url' }, /SLACK_API_URL/],
    [['--nope'], {}, /unknown flag --nope/],
    [['launch'], {}, /unknown command or argument "launch"/],
    [['--listen-port'], {}, /needs a value/],
  ])('%p %p is refused', (argv, env, message) => {
    expect(() => parseArgs(argv, env)).toThrow(UsageError);
    expect(() => parseArgs(argv, env)).toThrow(message);
  });
  test('--help lists every setting with its variable', () => {
    const help = renderHelp('1.2.3');
    for (const s of SETTINGS) {
      expect(help).toContain(s.flag);
      expect(help).toContain(s.env);
    }
    expect(parseArgs(['--help'], {}).command).toBe('help');
    expect(parseArgs(['--version'], {}).command).toBe('version');
  });
});

describe('pod runner settings', () => {
  test('--runner-resources: JSON resources, empty for none; a bad one exits before listening, naming it', () => {
    expect(configFrom([], {}).runnerResources).toBeUndefined();
    expect(
      configFrom([], { RUNNER_RESOURCES: '{"requests":{"cpu":"1"},"limits":{"memory":"1Gi"}}' })
        .runnerResources,
    ).toEqual({ requests: { cpu: '1' }, limits: { memory: '1Gi' } });
    for (const bad of ['{oops', '{"limits":{"cpu":"lots"}}', '{"gpu":{}}']) {
      expect(() => configFrom(['--runner-resources', bad], {})).toThrow(UsageError);
      expect(() => configFrom(['--runner-resources', bad], {})).toThrow(/--runner-resources/);
    }
  });

  test('--runner-images-allowed, --max-parallelism, --max-concurrent-pod-runs', () => {
    expect(
      configFrom([], {
        RUNNER_IMAGES_ALLOWED: 'grafana/k6:2.1.0, registry.example/k6/*, grafana/k6',
        MAX_PARALLELISM: '8',
        MAX_CONCURRENT_POD_RUNS: '3',
      }),
    ).toMatchObject({
      runnerImagesAllowed: ['grafana/k6:2.1.0', 'registry.example/k6/*', 'grafana/k6'],
      maxParallelism: 8,
      maxConcurrentPodRuns: 3,
    });
    expect(() => configFrom(['--max-parallelism', '0'], {})).toThrow(UsageError);
    // A prefix glob is what let grafana/k6-evil in: refused when the setting is read.
    for (const bad of ['grafana/k6*', 'registry.example/k6:*', 'a/*/b'])
      expect(() => configFrom(['--runner-images-allowed', bad], {})).toThrow(
        /--runner-images-allowed/,
      );
  });

  test('the tenant policy settings', () => {
    expect(configFrom([], {})).toMatchObject({
      runnersAllowed: [],
      secretsAllowed: ['*'],
      runnerLabelKeysAllowed: [],
      maxRunnerResources: { cpu: '4', memory: '8Gi', 'ephemeral-storage': '10Gi' },
    });
    expect(
      configFrom(
        ['--runners-allowed', 'job, local', '--toleration-keys-allowed', 'loadtest,example.com/*'],
        { MAX_RUNNER_RESOURCES: ' ' },
      ),
    ).toMatchObject({
      runnersAllowed: ['job', 'local'],
      tolerationKeysAllowed: ['loadtest', 'example.com/*'],
      maxRunnerResources: undefined,
    });
    expect(() => configFrom(['--runners-allowed', 'docker'], {})).toThrow(/--runners-allowed/);
    expect(() => configFrom(['--max-runner-resources', '{"gpu":"1"}'], {})).toThrow(
      /--max-runner-resources/,
    );
  });
});

describe('systemd credentials ($CREDENTIALS_DIRECTORY)', () => {
  test('a file setting defaults to its credential when it exists; a flag or variable wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k6gate-creds-'));
    try {
      writeFileSync(`${dir}/auth.yaml`, 'clients: []\n');
      writeFileSync(`${dir}/slack-token`, 'xoxb-x\n');
      const env = { CREDENTIALS_DIRECTORY: dir };
      const config = configFrom([], env);
      expect(config.authFile).toBe(`${dir}/auth.yaml`);
      expect(config.slackTokenFile).toBe(`${dir}/slack-token`);
      expect(config.cloudTokenFile).toBe(''); // no such credential: the default
      expect(configFrom([], { ...env, AUTH_FILE: '/etc/k6gate/auth.yaml' }).authFile).toBe(
        '/etc/k6gate/auth.yaml',
      );
      expect(configFrom(['--auth-file', '/x.yaml'], env).authFile).toBe('/x.yaml');
      expect(configFrom([], {}).authFile).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
