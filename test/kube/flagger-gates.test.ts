// The recommended Canary (example/gated/canary.yaml) analysed by the real Flagger controller
// v1.44.0 on the kwok cluster against k6gate: a stateful `rollout` load test, the promotion gate
// (confirm-promotion → /gate/promotion) and the rollback gate (rollback → /gate/rollback). Each
// scenario is its own Canary on its own Deployment, side by side in one namespace:
// - pass: the analysis ends while the 20 s test still runs → WaitingPromotion; promoted only
//   after k6gate recorded the verdict;
// - fail (no rollback gate, threshold 2): never promoted, WaitingPromotion, then Failed with
//   k6gate's reason in Flagger's events;
// - rollback (threshold 10): the rollback gate rolls back on the failure, long before 10 failed
//   checks;
// - manual: a confirm-rollout hook on /gate/check holds the canary Waiting until the test opens
//   the gate by hand (/gate/open), as with Flagger's loadtester;
// - refused / broken: how Flagger reports a refusal. A caller-side one (runner "job" on a k6gate
//   without a Kubernetes client) is a 400 whose reason lands in the event; k6gate's own fault (k6
//   missing: 503) is retried by Flagger's client and shown as "giving up after N attempt(s)".
// Only what cannot work here changes: URLs (127.0.0.1), TARGET (loopback servers), a 5 s
// interval, 2 iterations and a 20 s test.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, startInProcess } from '../helpers/daemon.ts';
import { describeKube } from '../helpers/kube-apiserver.ts';
import { flaggerBinary, PLURAL, startFlagger } from '../helpers/flagger.ts';
import {
  getKubeCluster,
  reviseDeployment,
  until,
  type KubeCluster,
} from '../helpers/kube-cluster.ts';

const flagger = flaggerBinary('real Flagger gates');

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: object };
  spec: any;
};
const load = (file: string) =>
  parseAllDocuments(readFileSync(join(REPO, 'example', file), 'utf8'))
    .map((d) => d.toJSON() as Obj)
    .filter((o) => o && o.kind !== 'Namespace');

// A loopback target per canary; `failing` ones fail a third of their requests.
function target(failing: boolean) {
  let served = 0;
  return Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: () => new Response('ok', { status: failing && ++served % 3 === 0 ? 500 : 200 }),
  });
}

describeKube('the recommended Canary and the manual gates, analysed by the real Flagger', () => {
  let cluster: KubeCluster;
  let ns: string;
  let controller: Bun.Subprocess | undefined;
  let daemon: ReturnType<typeof startInProcess>;
  let broken: ReturnType<typeof startInProcess>;
  const targets = { pass: target(false), fail: target(true), rollback: target(true) };
  const phases = new Map<string, { phase: string; at: number }[]>();
  let polling = true;

  const canaryPath = (name: string) =>
    `/apis/flagger.app/v1beta1/namespaces/${ns}/canaries/${name}`;
  const phase = async (name: string) =>
    (await cluster.env.admin('GET', canaryPath(name))).status?.phase as string;
  const events = async (name: string) =>
    (
      await cluster.env.admin(
        'GET',
        `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3D${name}`,
      )
    ).items.map(
      (e: { type: string; message: string }) => `${e.type}: ${e.message.split('\n')[0]}`,
    ) as string[];
  /** The Canary's Events once `ready` holds of them (15 s at most; then as they are, for the
   * expectations to name what is missing): Flagger's recorder writes Events in the background,
   * after the phase it set (a CI run read them the moment a phase said Succeeded: none yet). */
  const eventsWhen = async (name: string, ready: (said: string[]) => boolean) => {
    let said: string[] = [];
    const settled = async () => ready((said = await events(name)));
    await until(settled, `${name}'s Events`, 15_000).catch(() => {});
    return said;
  };
  const revise = (name: string) => reviseDeployment(cluster.env, ns, name, 'two');

  // One Deployment + Service + Canary per scenario, from example/podinfo.yaml and the gated
  // Canary, renamed; `edit` adapts the Canary's analysis.
  async function applyScenario(name: string, edit: (c: Obj) => void) {
    for (const obj of [...load('podinfo.yaml'), ...load('gated/canary.yaml')]) {
      obj.metadata.namespace = ns;
      obj.metadata.name = name;
      if (obj.kind === 'Deployment') {
        obj.spec.selector.matchLabels.app = name;
        obj.spec.template.metadata.labels.app = name;
      }
      if (obj.kind === 'Service') obj.spec.selector.app = name;
      if (obj.kind === 'Canary') {
        obj.spec.targetRef.name = name;
        Object.assign(obj.spec.analysis, { interval: '5s', iterations: 2 });
        edit(obj);
      }
      const [base, plural] = PLURAL[obj.kind]!;
      await cluster.env.admin('POST', `${base}/namespaces/${ns}/${plural}`, obj);
    }
  }

  function hooks(c: Obj, url: string, server: { port: number | undefined }) {
    const [loadTest, promotion, rollback, timeline] = c.spec.analysis.webhooks;
    loadTest.url = `${url}/launch-test`;
    loadTest.metadata.env_vars = JSON.stringify({ TARGET: `http://127.0.0.1:${server.port}` });
    loadTest.metadata.script = loadTest.metadata.script.replace(
      "duration: '2m'",
      "duration: '20s'",
    );
    promotion.url = `${url}/gate/promotion`;
    rollback.url = `${url}/gate/rollback`;
    timeline.url = `${url}/events`;
    return { loadTest, promotion, rollback, timeline };
  }

  beforeAll(async () => {
    if (!flagger) return;
    cluster = await getKubeCluster();
    ns = await cluster.env.createNamespace('gates', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    daemon = startInProcess({});
    broken = startInProcess({ args: ['--k6-binary', '/nonexistent/k6'] });
    controller = startFlagger(flagger, cluster.env, ns);
    await applyScenario('pass', (c) => hooks(c, daemon.url, targets.pass));
    await applyScenario('fail', (c) => {
      const h = hooks(c, daemon.url, targets.fail);
      c.spec.analysis.webhooks = [h.loadTest, h.promotion];
      c.spec.analysis.threshold = 2;
    });
    await applyScenario('rollback', (c) => {
      hooks(c, daemon.url, targets.rollback);
      c.spec.analysis.threshold = 10;
    });
    await applyScenario('manual', (c) => {
      c.spec.analysis.webhooks = [
        { name: 'approval', type: 'confirm-rollout', url: `${daemon.url}/gate/check` },
      ];
    });
    for (const [name, url, runner] of [
      ['refused', daemon.url, 'job'],
      ['broken', broken.url, ''],
    ] as const) {
      await applyScenario(name, (c) => {
        const h = hooks(c, url, targets.pass);
        if (runner) h.loadTest.metadata.runner = runner;
        c.spec.analysis.webhooks = [h.loadTest];
        c.spec.analysis.threshold = 1;
      });
    }
    for (const name of ['pass', 'fail', 'rollback', 'manual', 'refused', 'broken']) {
      await until(async () => (await phase(name)) === 'Initialized', `${name} Initialized`, 90_000);
      phases.set(name, []);
    }
    // Every phase each Canary goes through, with when it was first seen.
    void (async () => {
      while (polling) {
        for (const [name, seen] of phases) {
          const p = await phase(name).catch(() => '');
          if (p && seen.at(-1)?.phase !== p) seen.push({ phase: p, at: Date.now() });
        }
        await Bun.sleep(250);
      }
    })();
    for (const name of ['pass', 'fail', 'rollback', 'manual', 'refused', 'broken']) {
      await revise(name);
    }
  }, 150_000);

  afterAll(async () => {
    polling = false;
    controller?.kill();
    await controller?.exited;
    await daemon?.close();
    await broken?.close();
    for (const t of Object.values(targets)) await t.stop(true);
  });

  const seen = (name: string) => (phases.get(name) ?? []).map((p) => p.phase);

  test.skipIf(!flagger)(
    'pass: WaitingPromotion while the test runs, promoted only after its verdict',
    async () => {
      await until(async () => (await phase('pass')) === 'Succeeded', 'pass Succeeded', 150_000);
      const verdict = daemon.records.find(
        (r) => r.msg === 'the load test for pass.' + ns + ' succeeded!',
      );
      expect(verdict).toBeDefined();
      const promoting = phases.get('pass')!.find((p) => p.phase === 'Promoting');
      console.log(
        'pass phases:',
        phases
          .get('pass')!
          .map((p) => `${p.phase}@${new Date(p.at).toISOString()}`)
          .join(' → '),
      );
      console.log('pass verdict recorded at', String(verdict!.time));
      expect(seen('pass')).toContain('WaitingPromotion');
      expect(promoting!.at).toBeGreaterThan(Date.parse(String(verdict!.time)));
      const said = await eventsWhen('pass', (e) => e.some((m) => /Promotion completed/.test(m)));
      expect(said.some((e) => /Promotion completed/.test(e))).toBe(true);
      // Flagger's event hook put the rollout on k6gate's timeline, beside the run that gated it.
      const canary = (await (await fetch(`${daemon.url}/api/v1/canaries/${ns}/pass`)).json()) as {
        timeline: { checksum: string; runs: { state: string }[]; events: { message: string }[] }[];
      };
      for (const rev of canary.timeline) {
        const said = rev.events.map((e) => e.message).reverse();
        console.log(
          `pass timeline, revision ${rev.checksum}: runs ${rev.runs.map((r) => r.state).join(',') || '-'}; events: ${said.join(' | ')}`,
        );
      }
      // The promotion is on the revision the passed run gated (what `baseline: last-promoted`
      // reads); "New revision detected" carries the revision before it (Flagger's checksum then).
      const gated = canary.timeline.find((rev) => rev.runs.length > 0);
      expect(gated?.runs.map((r) => r.state)).toContain('passed');
      const gatedSaid = gated?.events.map((e) => e.message) ?? [];
      expect(gatedSaid.some((m) => /Promotion completed/.test(m))).toBe(true);
      const messages = canary.timeline.flatMap((rev) => rev.events.map((e) => e.message));
      expect(messages.some((m) => /New revision detected/.test(m))).toBe(true);
    },
    180_000,
  );

  test.skipIf(!flagger)(
    "fail: never promoted; WaitingPromotion, then Failed with k6gate's reason in the events",
    async () => {
      await until(async () => (await phase('fail')) === 'Failed', 'fail Failed', 150_000);
      console.log('fail phases:', seen('fail').join(' → '));
      expect(seen('fail')).toContain('WaitingPromotion');
      expect(seen('fail')).not.toContain('Promoting');
      expect(seen('fail')).not.toContain('Succeeded');
      const said = await events('fail');
      console.log(said.filter((e) => /check|Halt|Rolling|Canary failed/.test(e)).join('\n'));
      expect(
        said.some((e) =>
          /external check load-test failed failed to run: exit status 99 \(thresholds crossed: http_req_failed\)/.test(
            e,
          ),
        ),
      ).toBe(true);
    },
    180_000,
  );

  test.skipIf(!flagger)(
    'rollback: the rollback gate rolls back on the failure, before the failed-checks threshold',
    async () => {
      await until(async () => (await phase('rollback')) === 'Failed', 'rollback Failed', 150_000);
      console.log('rollback phases:', seen('rollback').join(' → '));
      const rolledBack = (e: string) => /Rolling back rollback\..* manual webhook invoked/.test(e);
      const said = await eventsWhen('rollback', (e) => e.some(rolledBack));
      expect(said.some(rolledBack)).toBe(true);
      expect(said.some((e) => /Rolling back .* failed checks threshold reached/.test(e))).toBe(
        false,
      );
      expect(seen('rollback')).not.toContain('Promoting');
    },
    180_000,
  );

  test.skipIf(!flagger)(
    'manual: /gate/check holds the canary Waiting until /gate/open, as the loadtester does',
    async () => {
      await until(async () => (await phase('manual')) === 'Waiting', 'manual Waiting', 60_000);
      await Bun.sleep(6_000); // another interval: still waiting
      expect(await phase('manual')).toBe('Waiting');
      const opened = await fetch(`${daemon.url}/gate/open`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'manual', namespace: ns }),
      });
      expect(opened.status).toBe(200);
      await until(async () => (await phase('manual')) === 'Succeeded', 'manual Succeeded', 120_000);
      const said = await events('manual');
      console.log(said.filter((e) => /approval|Halt|Promotion/.test(e)).join('\n'));
      expect(said.some((e) => /waiting for approval approval/.test(e))).toBe(true);
    },
    180_000,
  );

  test.skipIf(!flagger)(
    "a caller-side refusal is a 400 whose reason Flagger shows; k6gate's own 503 is hidden",
    async () => {
      await until(async () => (await phase('refused')) === 'Failed', 'refused Failed', 120_000);
      await until(async () => (await phase('broken')) === 'Failed', 'broken Failed', 120_000);
      const refused = (await events('refused')).filter((e) => /external check/.test(e));
      const hidden = (await events('broken')).filter((e) => /external check/.test(e));
      console.log(`refused (400): ${refused[0]}\nbroken (503): ${hidden[0]}`);
      expect(refused[0]).toMatch(
        /external check load-test failed runner "job" is not enabled on this k6gate: pod runners need --kubernetes-client/,
      );
      expect(hidden[0]).toMatch(
        /external check load-test failed POST .* giving up after \d+ attempt\(s\)/,
      );
    },
    150_000,
  );
});
