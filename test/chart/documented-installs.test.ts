// Every `helm upgrade --install` of the chart that the docs show (README.md, the chart's README,
// example/README.md and the example's values file) renders a pod that can start: every Secret
// or ConfigMap it mounts or reads is made by the chart or optional, and every *_FILE variable
// points into a mounted volume, at a key the chart's own Secret holds when it made one.

import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CHART, describeHelm, REPO, renderChart } from '../helpers/helm.ts';

const DOCS = [
  'README.md',
  'charts/k6gate/README.md',
  'example/README.md',
  'example/helm/k6gate-values.yaml',
];

/** The documented installs of this chart: [doc, argv after `helm upgrade --install NAME CHART`]. */
function documentedInstalls(): { doc: string; command: string; args: string[] }[] {
  const found: { doc: string; command: string; args: string[] }[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(REPO, doc), 'utf8').replace(/\\\n\s*(#\s*)?/g, ' ');
    for (const m of text.matchAll(
      /helm upgrade --install (\S+) (\S*charts\/k6gate)((?: [^`\n]*)?)/g,
    )) {
      // Where the command is run from: where its chart path reaches the chart (the values file's
      // comment is run from example/, one level up; the chart README's from the repo root).
      const dirs = [dirname(join(REPO, doc)), dirname(dirname(join(REPO, doc))), REPO];
      const base = dirs.find((d) => resolve(d, m[2]!) === CHART);
      if (!base) throw new Error(`${doc}: ${m[2]} is not the chart from where the doc stands`);
      const words = [...(m[3] ?? '').matchAll(/'([^']*)'|(\S+)/g)].map((w) => w[1] ?? w[2]!);
      const args: string[] = [];
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (w === '-n' || w === '--namespace') args.push('--namespace', words[++i]!);
        else if (w === '-f' || w === '--values') args.push('-f', resolve(base, words[++i]!));
        else if (w === '--set' || w === '--set-string') args.push(w, words[++i]!);
        else if (w.startsWith('-')) throw new Error(`${doc}: unhandled helm flag ${w} in: ${m[0]}`);
      }
      found.push({ doc, command: m[0], args });
    }
  }
  return found;
}

type Obj = Record<string, any>;
const installs = documentedInstalls();

describeHelm('documented helm installs', () => {
  test('the docs show the install commands this test renders', () => {
    // README (twice), the chart README, the example (three variants), the values file's comment.
    expect(installs.length).toBeGreaterThanOrEqual(6);
    expect(installs.some((i) => i.args.includes('secrets.existingSecret=k6gate-tokens'))).toBe(
      true,
    );
  });

  test.each(installs.map((i) => [`${i.doc}: ${i.command}`, i] as const))(
    '%s → a pod that starts',
    (_name, install) => {
      const objs = renderChart(install.args);
      const problems = podProblems(objs);
      expect(problems).toEqual([]);
    },
  );

  test('the check finds a Secret that is neither made nor optional, and a *_FILE with no mount', () => {
    const objs = renderChart(['--set', 'secrets.existingSecret=k6gate-tokens']);
    const pod = objs.find((o) => o.kind === 'Deployment').spec.template.spec;
    delete pod.volumes.find((v: Obj) => v.name === 'tokens').secret.optional;
    pod.containers[0].env.push({ name: 'EXTRA_TOKEN_FILE', value: '/nowhere/token' });
    expect(podProblems(objs)).toEqual([
      'volume tokens: Secret k6gate-tokens is neither made by the chart nor optional',
      'EXTRA_TOKEN_FILE=/nowhere/token is in no mounted volume',
    ]);
  });
});

/** Why the rendered Deployment's pod could not start; empty when it can. */
function podProblems(objs: Obj[]): string[] {
  const made = (kind: string, name: string): Obj | undefined =>
    objs.find((o) => o.kind === kind && o.metadata.name === name);
  const pod = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec;
  const problems: string[] = [];
  for (const v of pod.volumes as Obj[]) {
    const [kind, name, optional] = v.secret
      ? ['Secret', v.secret.secretName, v.secret.optional]
      : v.configMap
        ? ['ConfigMap', v.configMap.name, v.configMap.optional]
        : [];
    if (kind && !optional && !made(kind, name)) {
      problems.push(`volume ${v.name}: ${kind} ${name} is neither made by the chart nor optional`);
    }
  }
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])] as Obj[]) {
    for (const e of (c.env ?? []) as Obj[]) problems.push(...envProblems(e, c, pod, made));
  }
  return problems;
}

function envProblems(
  e: Obj,
  container: Obj,
  pod: Obj,
  made: (kind: string, name: string) => Obj | undefined,
): string[] {
  const ref = e.valueFrom?.secretKeyRef;
  if (ref && !ref.optional && !made('Secret', ref.name)) {
    return [`${e.name}: Secret ${ref.name} is neither made by the chart nor optional`];
  }
  if (!e.name.endsWith('_FILE') || !e.value) return [];
  const mount = (container.volumeMounts ?? []).find((m: Obj) =>
    e.value.startsWith(`${m.mountPath}/`),
  );
  if (!mount) return [`${e.name}=${e.value} is in no mounted volume`];
  const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name);
  const secret = volume?.secret && made('Secret', volume.secret.secretName);
  const key = e.value.slice(mount.mountPath.length + 1);
  if (secret && !volume.secret.optional && !(key in { ...secret.data, ...secret.stringData })) {
    return [`${e.name}: key ${key} is not in the chart's Secret ${secret.metadata.name}`];
  }
  return [];
}
