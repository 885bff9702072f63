#!/usr/bin/env bash
# Checks (and installs where it can) what `make bench` needs, before any minutes are spent:
# wrk (a Debian package), the Go original built from its Go module (bench/build-original.sh),
# and the kube binaries of the pod-run bench (scripts/kube-env).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing wrk (Debian package)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
  else
    echo "bench: wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install wrk) and run make bench again" >&2
    exit 1
  fi
fi
command -v go >/dev/null 2>&1 || { echo "bench: go is needed to build the original from its Go module" >&2; exit 1; }
# The kwok cluster of the pod-run bench (cached outside the repo; minutes only the first time).
bash scripts/kube-env build >&2
echo "bench: wrk $(wrk --version 2>&1 | head -1 | cut -d' ' -f2), original at $(bash bench/build-original.sh)" >&2
