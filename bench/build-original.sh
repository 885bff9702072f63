#!/usr/bin/env bash
# Builds the Go original (grafana/flagger-k6-webhook) from its Go module into the cache, outside
# the repo, for side-by-side benchmarks. `go install …@v0.5.7` is refused by the proxy's version
# listing here, so a throwaway wrapper module requires the exact version and builds its cmd.
# Prints the binary path.
set -euo pipefail
VERSION=${ORIGINAL_VERSION:-v0.5.7}
CACHE=${K6GATE_CACHE:-$HOME/.cache/k6gate}/original/$VERSION
BIN=$CACHE/flagger-k6-webhook
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
mkdir -p "$CACHE/src"
cd "$CACHE/src"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
cat > go.mod <<MOD
module k6gate.local/bench/original

go 1.26.0

require github.com/grafana/flagger-k6-webhook $VERSION
MOD
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "github.com/grafana/flagger-k6-webhook/cmd"
GO
start=$(date +%s)
go mod tidy >&2 2>&1 || true
go get "github.com/grafana/flagger-k6-webhook@$VERSION" >&2
go build -trimpath -ldflags='-s -w' -o "$BIN" github.com/grafana/flagger-k6-webhook/cmd >&2
echo "built the original $VERSION in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
