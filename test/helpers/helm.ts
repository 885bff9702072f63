// helm for tests: built from its Go module by scripts/tools (cached outside the repo).
// Under CI=true a missing helm fails the run; elsewhere its tests are skipped, loudly.

import { describe } from 'bun:test';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(import.meta.dir, '../..');
export const CHART = join(REPO, 'charts/k6gate');

function findHelm(): { bin?: string; why?: string } {
  const out = Bun.spawnSync(['bash', join(REPO, 'scripts/tools'), 'helm'], {
    stderr: 'pipe',
    env: { ...process.env, K6GATE_TOOLS_NO_BUILD: '1' },
  });
  if (out.exitCode === 0) return { bin: out.stdout.toString().trim() };
  return {
    why: `helm is not available (run: bash scripts/tools helm): ${out.stderr.toString().trim()}`,
  };
}

let cached: ReturnType<typeof findHelm> | undefined;
function helmBin() {
  cached ??= findHelm();
  return cached;
}

export function helm(args: string[]): { code: number; stdout: string; stderr: string } {
  const { bin } = helmBin();
  if (!bin) throw new Error('helm not available');
  const out = Bun.spawnSync([bin, ...args], {
    cwd: REPO,
    stderr: 'pipe',
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/k6gate-helm-cache',
      HELM_CONFIG_HOME: '/tmp/k6gate-helm-config',
      HELM_DATA_HOME: '/tmp/k6gate-helm-data',
    },
  });
  return { code: out.exitCode ?? -1, stdout: out.stdout.toString(), stderr: out.stderr.toString() };
}

/** Renders the chart and returns its objects. */
export function renderChart(args: string[] = []): any[] {
  const out = helm(['template', 'k6gate', CHART, ...args]);
  if (out.code !== 0) throw new Error(`helm template failed: ${out.stderr}`);
  return parseAllDocuments(out.stdout)
    .map((d) => d.toJSON())
    .filter((o) => o);
}

export function describeHelm(name: string, body: () => void) {
  const { bin, why } = helmBin();
  if (bin) return describe(name, body);
  if (process.env.CI === 'true') throw new Error(`chart tests cannot run under CI: ${why}`);
  console.log(`SKIP chart tests (${name}): ${why}`);
  return describe.skip(name, body);
}

/** The install notes (templates/NOTES.txt) as `helm install` would print them, without a
 * cluster: helm 4's client dry run needs one, so a copy of the chart renders them into a
 * ConfigMap that `helm template` shows. */
export function renderNotes(args: string[] = []): string {
  const copy = mkdtempSync(join(tmpdir(), 'k6gate-notes-'));
  try {
    cpSync(CHART, copy, { recursive: true });
    writeFileSync(
      join(copy, 'templates/zz-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "k6gate/templates/NOTES.txt" . | toJson }}\n',
    );
    const out = helm([
      'template',
      'k6gate',
      copy,
      '--show-only',
      'templates/zz-notes.yaml',
      ...args,
    ]);
    if (out.code !== 0) throw new Error(`helm template failed: ${out.stderr}`);
    return (parseAllDocuments(out.stdout)[0]?.toJSON() as { data: { notes: string } }).data.notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
