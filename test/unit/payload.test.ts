import { describe, expect, test } from 'bun:test';
import { BadRequest } from '../../src/core/errors.ts';
import { parseLaunchPayload } from '../../src/flagger/payload.ts';

const base = { name: 'podinfo', namespace: 'test', phase: 'Progressing' };
const withMeta = (metadata: Record<string, unknown>) => ({
  ...base,
  metadata: { script: 's', ...metadata },
});

function problem(body: unknown): BadRequest {
  try {
    parseLaunchPayload(body);
  } catch (err) {
    if (err instanceof BadRequest) return err;
    throw err;
  }
  throw new Error('expected a BadRequest');
}

describe('defaults (as the original)', () => {
  test('only a script', () => {
    const req = parseLaunchPayload(withMeta({}));
    expect(req).toMatchObject({
      uploadToCloud: false,
      waitForResults: true,
      slackChannels: [],
      notificationContext: '',
      minFailureDelayMs: 120_000,
      envVars: {},
      secretRefs: [],
      checksum: '',
    });
  });
  test('empty strings fall back to defaults', () => {
    const req = parseLaunchPayload(
      withMeta({ upload_to_cloud: '', wait_for_results: '', min_failure_delay: '', env_vars: '' }),
    );
    expect(req.uploadToCloud).toBe(false);
    expect(req.waitForResults).toBe(true);
    expect(req.minFailureDelayMs).toBe(120_000);
  });
});

describe('each metadata key', () => {
  test.each([
    [{ upload_to_cloud: 'true' }, 'uploadToCloud', true],
    [{ upload_to_cloud: 'F' }, 'uploadToCloud', false],
    [{ wait_for_results: 'false' }, 'waitForResults', false],
    [{ wait_for_results: '1' }, 'waitForResults', true],
    [{ slack_channels: 'a, b ,,c' }, 'slackChannels', ['a', 'b', 'c']],
    [{ slack_channels: 'test,test2' }, 'slackChannels', ['test', 'test2']],
    [{ slack_channels: 'alerts,#alerts, alerts' }, 'slackChannels', ['alerts']],
    [{ notification_context: 'Cluster: `dev`' }, 'notificationContext', 'Cluster: `dev`'],
    [{ min_failure_delay: '3m' }, 'minFailureDelayMs', 180_000],
    [{ min_failure_delay: '0' }, 'minFailureDelayMs', 0],
    [{ min_failure_delay: '-5s' }, 'minFailureDelayMs', -5000],
    [{ env_vars: '{"FOO":"bar","BAZ":"qux"}' }, 'envVars', { FOO: 'bar', BAZ: 'qux' }],
    [{ env_vars: 'null' }, 'envVars', {}],
  ])('%p → %s', (metadata, key, expected) => {
    expect(parseLaunchPayload(withMeta(metadata))[key as 'envVars']).toEqual(expected as never);
  });

  test('kubernetes_secrets: ns/secret/key and secret/key (canary namespace)', () => {
    const req = parseLaunchPayload(
      withMeta({ kubernetes_secrets: '{"A":"other/sec/key","B":"sec/key.with-dots_1"}' }),
    );
    expect(req.secretRefs).toEqual([
      { env: 'A', namespace: 'other', name: 'sec', key: 'key' },
      { env: 'B', namespace: 'test', name: 'sec', key: 'key.with-dots_1' },
    ]);
  });

  test('unknown metadata keys are reported, not rejected', () => {
    expect(parseLaunchPayload(withMeta({ foo: 'bar' })).unknownMetadataKeys).toEqual(['foo']);
  });
});

describe('bad input names the field and never echoes the value', () => {
  const SECRET = 'hunter2-SECRET-VALUE';
  test.each([
    ['not an object', [], 'body'],
    ['null', null, 'body'],
    ['missing name', { namespace: 'n', phase: 'p', metadata: { script: 's' } }, 'name'],
    ['missing namespace', { name: 'n', phase: 'p', metadata: { script: 's' } }, 'namespace'],
    ['missing phase', { name: 'n', namespace: 'n', metadata: { script: 's' } }, 'phase'],
    ['name not a string', { ...base, name: 5, metadata: { script: 's' } }, 'name'],
    ['bad namespace', { ...base, namespace: 'Bad_NS', metadata: { script: 's' } }, 'namespace'],
    ['metadata not an object', { ...base, metadata: 'x' }, 'metadata'],
    [
      'metadata value not a string',
      withMeta({ upload_to_cloud: true }),
      'metadata.upload_to_cloud',
    ],
    ['missing script', { ...base, metadata: {} }, 'metadata.script'],
    ['no metadata', base, 'metadata.script'],
    ['blank script', withMeta({ script: '   ' }), 'metadata.script'],
    ['bad upload_to_cloud', withMeta({ upload_to_cloud: SECRET }), 'metadata.upload_to_cloud'],
    ['bad wait_for_results', withMeta({ wait_for_results: 'yes' }), 'metadata.wait_for_results'],
    [
      'bad min_failure_delay',
      withMeta({ min_failure_delay: '2 days' }),
      'metadata.min_failure_delay',
    ],
    ['env_vars array', withMeta({ env_vars: '[]' }), 'metadata.env_vars'],
    ['env_vars not JSON', withMeta({ env_vars: `{${SECRET}` }), 'metadata.env_vars'],
    ['env_vars number value', withMeta({ env_vars: '{"A":1}' }), 'metadata.env_vars.A'],
    ['env_vars bad name', withMeta({ env_vars: '{"A=B":"x"}' }), 'metadata.env_vars'],
    [
      'kubernetes_secrets array',
      withMeta({ kubernetes_secrets: '[]' }),
      'metadata.kubernetes_secrets',
    ],
    [
      'secret ref without /',
      withMeta({ kubernetes_secrets: '{"A":"foo"}' }),
      'metadata.kubernetes_secrets.A',
    ],
    [
      'secret ref empty',
      withMeta({ kubernetes_secrets: '{"A":""}' }),
      'metadata.kubernetes_secrets.A',
    ],
    [
      'secret ref empty name',
      withMeta({ kubernetes_secrets: '{"A":"ns//key"}' }),
      'metadata.kubernetes_secrets.A',
    ],
    [
      'secret ref 4 parts',
      withMeta({ kubernetes_secrets: '{"A":"a/b/c/d"}' }),
      'metadata.kubernetes_secrets.A',
    ],
    [
      'secret ref bad ns',
      withMeta({ kubernetes_secrets: '{"A":"NS/b/c"}' }),
      'metadata.kubernetes_secrets.A',
    ],
  ])('%s', (_label, body, field) => {
    const err = problem(body);
    expect(err.field).toBe(field);
    expect(err.status).toBe(400);
    expect(err.message).not.toContain(SECRET);
  });
});
