// Events on the Canary against a real API server, as the daemon user with exactly the chart's
// events rule: a passing and a failing run record LoadTestPassed / LoadTestFailed with the
// one-line reason, a refusal Flagger would hide (503: k6 missing) records LoadTestRefused, and
// without the right the answers are unchanged and one warning names the chart value.

import { beforeAll, expect, test } from 'bun:test';
import { createKubeTransport, type KubeTransport, loadKubeConfig } from '../../src/kube/client.ts';
import { flaggerPayload, postLaunch, startInProcess } from '../helpers/daemon.ts';
import { describeKube, getKubeEnv, type KubeEnv } from '../helpers/kube-apiserver.ts';
import { doubleScript } from '../helpers/processes.ts';
import { CANARY_EVENT_RULES } from '../helpers/runner-rbac.ts';

describeKube('Events on the Canary (real API server)', () => {
  let env: KubeEnv;
  let ns: string;
  let bare: string;
  let kube: KubeTransport;

  beforeAll(async () => {
    env = await getKubeEnv();
    ns = await env.createNamespace('events');
    bare = await env.createNamespace('no-events');
    await env.grant(ns, 'k6gate-canary-events', CANARY_EVENT_RULES);
    const kc = loadKubeConfig('kubeconfig', env.daemonKubeconfig);
    if (!kc) throw new Error('no kubeconfig');
    kube = createKubeTransport(kc);
  }, 120_000);

  const eventsOf = async (namespace: string, name: string) =>
    (
      await env.admin(
        'GET',
        `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name%3D${name}`,
      )
    ).items as {
      type: string;
      reason: string;
      message: string;
      involvedObject: { kind: string; apiVersion: string };
      source: { component: string };
    }[];

  async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 50; i++) {
      const got = await probe();
      if (got !== undefined) return got;
      await Bun.sleep(100);
    }
    throw new Error('not seen in 5 s');
  }

  test('a passing and a failing run: LoadTestPassed and LoadTestFailed on the Canary', async () => {
    await using d = startInProcess({ kube });
    const pass = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass') }, { namespace: ns, name: 'web' }),
    );
    expect(pass.status).toBe(200);
    const fail = await postLaunch(
      d.url,
      flaggerPayload(
        { script: doubleScript('mode=fail-thresholds'), min_failure_delay: '0' },
        { namespace: ns, name: 'api' },
      ),
    );
    expect(fail.status).toBe(400);
    const passed = await until(async () => (await eventsOf(ns, 'web'))[0]);
    expect(passed).toMatchObject({
      type: 'Normal',
      reason: 'LoadTestPassed',
      involvedObject: { kind: 'Canary', apiVersion: 'flagger.app/v1beta1' },
      source: { component: 'k6gate' },
    });
    expect(passed.message).toMatch(
      /^load test of phase Progressing \(run .+\): all thresholds passed$/,
    );
    const failed = await until(async () => (await eventsOf(ns, 'api'))[0]);
    expect(failed).toMatchObject({ type: 'Warning', reason: 'LoadTestFailed' });
    expect(failed.message).toMatch(/: failed to run: exit status 99 \(thresholds crossed/);
  }, 30_000);

  test('a refusal Flagger would hide (503, k6 missing): LoadTestRefused with the reason', async () => {
    await using d = startInProcess({ kube, args: ['--k6-binary', '/nonexistent/k6'] });
    const res = await postLaunch(
      d.url,
      flaggerPayload({ script: doubleScript('mode=pass') }, { namespace: ns, name: 'broken' }),
    );
    expect(res.status).toBe(503);
    const refused = await until(async () => (await eventsOf(ns, 'broken'))[0]);
    expect(refused).toMatchObject({ type: 'Warning', reason: 'LoadTestRefused' });
    expect(refused.message).toMatch(/^k6gate answered 503: k6 not found: "\/nonexistent\/k6"/);
  }, 30_000);

  test('without `create` on events: the answer is unchanged, one warning names the chart value', async () => {
    await using d = startInProcess({ kube });
    for (const name of ['one', 'two']) {
      const res = await postLaunch(
        d.url,
        flaggerPayload({ script: doubleScript('mode=pass') }, { namespace: bare, name }),
      );
      expect(res.status).toBe(200);
    }
    await Bun.sleep(300);
    const warned = d.records.filter((r) => /cannot record Events on Canaries/.test(r.msg));
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toContain('kubernetes.canaryEvents');
    expect(await eventsOf(bare, 'one')).toEqual([]);
  }, 30_000);
});
