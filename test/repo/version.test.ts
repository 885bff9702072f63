// One version everywhere: package.json's version is what make build stamps into the binary,
// what the image build stamps, and the chart's version and appVersion (the default image tag).

import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const REPO = join(import.meta.dir, '../..');
const version: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;

test('package.json has a semantic version', () => {
  expect(version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
});

test('the chart says the same version and appVersion', () => {
  const chart = parse(readFileSync(join(REPO, 'charts/k6gate/Chart.yaml'), 'utf8'));
  expect({ version: chart.version, appVersion: chart.appVersion }).toEqual({
    version,
    appVersion: version,
  });
});

test('make build stamps package.json version (make -n shows the define)', () => {
  const dry = Bun.spawnSync(['make', '-n', '-B', 'dist/k6gate'], { cwd: REPO });
  const out = dry.stdout.toString() + dry.stderr.toString();
  expect(out).toContain(`--define K6GATE_VERSION='"${version}"'`);
});

test('the image build reads the version from package.json', () => {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  expect(dockerfile).toContain(`require("./package.json").version`);
  expect(dockerfile).not.toMatch(/ARG VERSION=/);
});
