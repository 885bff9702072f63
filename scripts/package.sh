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
# Debian wants a changelog in its own format, compressed.
printf 'k6gate (%s-1) unstable; urgency=medium\n\n  * Release %s: https://github.com/k6gate/k6gate/releases/tag/v%s\n\n -- k6gate maintainers <k6gate@users.noreply.github.com>  %s\n' \
  "$version" "$version" "$version" "$(date -R)" | gzip -9n >"$work/changelog.Debian.gz"
config=$work/nfpm.yaml
sed -e "s|\${PKG_BINARY}|$(realpath "$binary")|" -e "s|\${PKG_CHANGELOG}|$work/changelog.Debian.gz|" \
  packaging/nfpm.yaml >"$config"
for packager in deb rpm; do
  PKG_ARCH=$arch PKG_VERSION=$version \
    "$nfpm" package --config "$config" --packager "$packager" --target "$out" >&2
done
ls "$out"/k6gate*
