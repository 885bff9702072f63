// Pod options against the runner a request will use (launch/policy.ts createRunnerRules):
// each misuse refused with the field named, before any slot or API call.

import { describe, expect, test } from 'bun:test';
import { BadRequest } from '../../src/core/errors.ts';
import type { RunnerKind } from '../../src/flagger/payload.ts';
import { parseLaunchPayload } from '../../src/flagger/payload.ts';
import { createRunnerRules } from '../../src/launch/policy.ts';

const rules = createRunnerRules({ maxParallelism: 8 });
const check = (kind: RunnerKind, metadata: Record<string, string>) => () =>
  rules(
    parseLaunchPayload({
      name: 'web',
      namespace: 'team-a',
      phase: 'Progressing',
      metadata: { script: 'export default function () {}', ...metadata },
    }),
    kind,
  );

describe('pod options fit the runner', () => {
  test.each([
    [
      'local',
      { tolerations: '[{"key":"k6","operator":"Exists"}]' },
      'metadata.tolerations',
      /applies to pod runs only/,
    ],
    ['job', { parallelism: '2' }, 'metadata.parallelism', /needs runner "k6-operator"/],
    ['job', { separate: 'true' }, 'metadata.separate', /needs runner "k6-operator"/],
    [
      'k6-operator',
      { parallelism: '9' },
      'metadata.parallelism',
      /at most 8 runner pods on this k6gate \(--max-parallelism\)/,
    ],
    [
      'k6-operator',
      { upload_to_cloud: 'true' },
      'metadata.upload_to_cloud',
      /not supported with runner "k6-operator"/,
    ],
  ] as const)('%s with %o: 400 on %s', (kind, meta, field, message) => {
    const err = (() => {
      try {
        check(kind, meta)();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BadRequest);
    expect((err as BadRequest).field).toBe(field);
    expect((err as Error).message).toMatch(message);
  });

  test('what each pod runner accepts passes', () => {
    expect(
      check('k6-operator', {
        parallelism: '8',
        separate: 'true',
        node_selector: '{"pool":"load"}',
      }),
    ).not.toThrow();
    expect(
      check('job', { runner_resources: '{"limits":{"cpu":"2","memory":"1Gi"}}' }),
    ).not.toThrow();
    expect(check('local', {})).not.toThrow();
  });

  test('`k6gate run … -- <k6 flags>`: the k6-operator cannot take one holding a space', () => {
    const req = (k6Args: string[]) => ({
      ...parseLaunchPayload({
        name: 'web',
        namespace: 'team-a',
        phase: 'Progressing',
        metadata: { script: 'export default function () {}' },
      }),
      k6Args,
    });
    expect(() => rules(req(['--tag', 'team=a b']), 'k6-operator')).toThrow(
      /the k6-operator splits its arguments at spaces/,
    );
    expect(() => rules(req(['--tag', 'team=a b']), 'job')).not.toThrow();
    expect(() => rules(req(['--tag', 'team=a']), 'k6-operator')).not.toThrow();
  });
});
