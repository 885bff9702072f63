#!/usr/bin/env bash
# Builds the .deb and .rpm of one binary with nfpm (built from its Go module by scripts/tools):
#   scripts/package.sh <amd64|arm64> <binary> <out dir> [version]
# `make packages` calls it for each release binary; test/e2e/package.test.ts for dist/k6gate.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$1 binary=$2 out=$3
version=${4:-$(node -p "require('./package.json').version")}
nfpm=$(bash scripts/tools nfpm)
mkdir -p "$out"
# nfpm expands variables in some fields only: the binary's path is written into a copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/k6gate-nfpm-XXXXXX")
trap 'rm -rf "$work"' EXIT
# The changelog: chglog's entry for this version — every commit since the last tag (all of them
# before the first tag) — from which nfpm writes Debian's changelog.Debian.gz and RPM's.
owner='k6gate maintainers <k6gate@users.noreply.github.com>'
if git rev-parse --git-dir >/dev/null 2>&1; then
  "$(bash scripts/tools chglog)" add --version "$version" --owner "$owner" \
    --deb-distribution unstable --deb-urgency medium \
    --input "$work/none.yml" --output "$work/changelog.yml" >&2
else # a source tree without its history: one entry naming the release
  printf -- '- semver: %s\n  date: %s\n  packager: %s\n  changes:\n    - note: Release %s\n' \
    "$version" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$owner" "$version" >"$work/changelog.yml"
fi
# Debian's changelog lines end by column 80: each note is cut there (the release notes keep them).
node -e '
  const fs = require("fs"), YAML = require("yaml");
  const entries = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
  const cut = (s) => (s.length <= 74 ? s : s.slice(0, 73).replace(/\s+\S*$/, "") + " …");
  for (const e of entries) for (const c of e.changes ?? []) c.note = cut(String(c.note ?? ""));
  fs.writeFileSync(process.argv[2], YAML.stringify(entries));
' "$work/changelog.yml" "$work/changelog-deb.yml"
config=$work/nfpm.yaml
sed -e "s|\${PKG_BINARY}|$(realpath "$binary")|" -e "s|\${PKG_CHANGELOG}|$work/changelog-deb.yml|" \
  packaging/nfpm.yaml >"$config"
for packager in deb rpm; do
  PKG_ARCH=$arch PKG_VERSION=$version \
    "$nfpm" package --config "$config" --packager "$packager" --target "$out" >&2
done
# The same entry as the release's notes (release.yml: gh release create --notes-file).
if git rev-parse --git-dir >/dev/null 2>&1; then
  "$(bash scripts/tools chglog)" format --template release --input "$work/changelog.yml" \
    --output "$out/RELEASE-NOTES.md" >&2
fi
ls "$out"/k6gate*
