// What can be checked of the image without building it: the same compile flags as `make
// build`, a distroless non-root final stage with no shell, k6 pinned by digest, and a
// .dockerignore that sends only what the build needs.

import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(import.meta.dir, '../..');
const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const makefile = readFileSync(join(REPO, 'Makefile'), 'utf8');

// The distinct compile flags a file uses (the Makefile compiles twice: build and release), with
// the values of the two that take one.
const flagsOf = (text: string) =>
  [
    ...new Set(
      [
        ...text.matchAll(
          /--(bytecode-order=\S+|compile-jit-policy=\d+|compile|minify|bytecode|format esm|splitting|no-compile-autoload-dotenv|no-compile-autoload-bunfig)\b/g,
        ),
      ].map((m) => m[1]),
    ),
  ].sort();

test('the image compiles with the same flags as make build', () => {
  expect(flagsOf(dockerfile)).toEqual(flagsOf(makefile));
  expect(flagsOf(dockerfile)).toHaveLength(9);
  expect(dockerfile).toContain('--define K6GATE_VERSION=');
});

test('final stage: distroless with glibc, non-root, entrypoint k6gate serve', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1] as string;
  expect(final).toStartWith('gcr.io/distroless/base-debian12:nonroot');
  expect(final).toMatch(/^USER 65532:65532$/m);
  expect(final).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/k6gate"]');
  expect(final).toContain('COPY --from=tini /usr/bin/tini-static /usr/bin/tini');
  expect(final).toContain('CMD ["serve"]');
  expect(final).not.toMatch(/^RUN /m);
});

test('multi-arch without emulation: every stage that runs a command runs on the build platform', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  for (const stage of stages.filter((st) => /^RUN /m.test(st))) {
    expect(stage).toStartWith('--platform=$BUILDPLATFORM ');
    expect(stage).toMatch(/^ARG TARGETARCH$/m);
  }
  expect(dockerfile).toContain('--target="bun-linux-${BUN_ARCH}"');
  expect(dockerfile).toContain('apt-get download "tini:${TARGETARCH:-amd64}=');
  const release = readFileSync(join(REPO, '.github/workflows/release.yml'), 'utf8');
  expect(release).not.toContain('setup-qemu-action');
  expect(release).toContain('platforms: linux/amd64,linux/arm64');
});

test('k6 comes from the official image pinned by digest', () => {
  expect(dockerfile).toMatch(/^FROM grafana\/k6:[0-9.]+@sha256:[a-f0-9]{64} AS k6$/m);
  expect(dockerfile).toContain('COPY --from=k6 /usr/bin/k6 /usr/bin/k6');
});

test('every other base image is pinned by digest, or by Renovate (docker:pinDigests) until then', () => {
  const renovate = JSON.parse(readFileSync(join(REPO, '.github/renovate.json'), 'utf8')) as {
    extends: string[];
  };
  const images = [...dockerfile.matchAll(/^FROM (?:--platform=\S+ )?(\S+)/gm)].map((m) => m[1]);
  expect(images.length).toBeGreaterThanOrEqual(4);
  const byTagOnly = images.filter((image) => !/@sha256:[a-f0-9]{64}$/.test(image ?? ''));
  if (byTagOnly.length > 0) expect(renovate.extends).toContain('docker:pinDigests');
  expect(renovate.extends).toContain('helpers:pinGitHubActionDigests');
});

test('.dockerignore sends only the sources the build needs', () => {
  const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').trim().split('\n');
  expect(ignore[0]).toBe('*');
  expect(ignore.slice(1).sort()).toEqual([
    '!build/*.order',
    '!package-lock.json',
    '!package.json',
    '!src',
    '!tsconfig.json',
  ]);
});
