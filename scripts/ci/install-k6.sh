#!/usr/bin/env bash
# Installs the official k6 release (linux/amd64 tarball from GitHub) into DIR, checked against
# the release's checksums file. For CI where the project is public (k6 is AGPL: it is never
# installed on the development machines). Usage: install-k6.sh v2.1.0 DIR
set -euo pipefail
version=${1:?version, e.g. v2.1.0}
dir=${2:?target directory}
name="k6-${version}-linux-amd64"
base="https://github.com/grafana/k6/releases/download/${version}"
mkdir -p "$dir"
cd "$dir"
curl -fsSLO "$base/$name.tar.gz"
curl -fsSLO "$base/k6-${version}-checksums.txt"
grep " $name.tar.gz\$" "k6-${version}-checksums.txt" | sha256sum -c -
tar -xzf "$name.tar.gz" --strip-components=1 "$name/k6"
./k6 version
