// Renders charts/k6gate/README.md's values table from the `# --` comments in values.yaml
// (helm-docs style). `bun scripts/chart-readme.ts` rewrites it; `--check` exits 1 when stale.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const CHART = join(import.meta.dir, '..', 'charts', 'k6gate');

/** One row per documented key: its dotted path, its default, its description. */
export function renderValuesTable(valuesYaml: string): string {
  const values = parse(valuesYaml) as Record<string, unknown>;
  const rows: string[] = ['| key | default | description |', '|---|---|---|'];
  const path: { indent: number; key: string }[] = [];
  let pending: string[] = [];
  for (const line of valuesYaml.split('\n')) {
    const doc = /^(\s*)# -- (.*)$/.exec(line);
    if (doc) {
      pending.push(doc[2] as string);
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_]+):/.exec(line);
    if (!key) continue;
    const indent = (key[1] as string).length;
    while (path.length > 0 && (path[path.length - 1] as { indent: number }).indent >= indent)
      path.pop();
    path.push({ indent, key: key[2] as string });
    if (pending.length === 0) continue;
    const dotted = path.map((p) => p.key).join('.');
    const value = path.reduce<unknown>((v, p) => (v as Record<string, unknown>)?.[p.key], values);
    rows.push(
      `| \`${dotted}\` | \`${JSON.stringify(value)}\` | ${pending.join(' ').replace(/\|/g, '\\|')} |`,
    );
    pending = [];
  }
  return rows.join('\n');
}

export function renderChartReadme(current: string, valuesYaml: string): string {
  return current.replace(
    /<!-- values:start -->[\s\S]*?<!-- values:end -->/,
    `<!-- values:start -->\n${renderValuesTable(valuesYaml)}\n<!-- values:end -->`,
  );
}

if (import.meta.main) {
  const readmePath = join(CHART, 'README.md');
  const current = readFileSync(readmePath, 'utf8');
  const next = renderChartReadme(current, readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('charts/k6gate/README.md is stale: run bun scripts/chart-readme.ts');
      process.exit(1);
    }
  } else writeFileSync(readmePath, next);
}
