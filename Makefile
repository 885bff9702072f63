# k6gate: two commands on a fresh clone — `make demo` and `make test`.
# Everything else (Bun, kube-apiserver, helm) is installed by the repo's own scripts.

SHELL := /bin/bash
BUN := node_modules/.bin/bun
# One version for everything: package.json's (the binary, the chart's version and appVersion,
# the image tag); test/repo/version.test.ts keeps them equal.
VERSION ?= $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
K6GATE_CACHE ?= $(HOME)/.cache/k6gate
export K6GATE_CACHE

.PHONY: all deps build bytecode-order release-binaries packages test test-real-k6 typecheck lint format demo bench bench-pods bench-cli bench-start bench-store bench-history bench-stateful bench-cpu clean tools

all: build

# Bun (pinned in package.json) and the dependencies, from the npm registry.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

# The compile flags of every build (the Dockerfile's too; test/repo/dockerfile.test.ts). Two
# that shape the start (bench/README.md, "Session 16"): --bytecode-order lays out first the
# bytecode a daemon and a `k6gate run` used (the profiles in build/, `make bytecode-order`), and
# --compile-jit-policy starts with JavaScriptCore's tier-up thresholds ×8 (start-up code runs
# once), back to normal once the daemon listens (src/cli/serve.ts).
ORDER := build/serve.order build/run.order
COMPILE := --compile --minify --bytecode --format esm --splitting \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --bytecode-order=build/serve.order,build/run.order --compile-jit-policy=8

dist/k6gate: deps $(shell find src -name '*.ts') package.json $(ORDER)
	$(BUN) build src/main.ts $(COMPILE) --define K6GATE_VERSION='"$(VERSION)"' --outfile dist/k6gate

build: dist/k6gate

# Records the profiles --bytecode-order reads, from the current build (a profile holds hashes
# of functions' syntax and stays useful as code changes; bench/start.ts reports its coverage).
bytecode-order: build
	$(BUN) scripts/record-bytecode-order.ts dist/k6gate build
	$(MAKE) dist/k6gate

# The release binaries: linux/amd64 and linux/arm64 (Bun cross-compiles), named with the
# version, and SHA256SUMS. The release workflow (.github/workflows/release.yml) calls this.
RELEASE := dist/release
release-binaries: deps $(shell find src -name '*.ts') package.json $(ORDER)
	rm -rf $(RELEASE) && mkdir -p $(RELEASE)
	for arch in amd64:x64 arm64:arm64; do \
	  $(BUN) build src/main.ts $(COMPILE) --target=bun-linux-$${arch#*:} \
	    --define K6GATE_VERSION='"$(VERSION)"' \
	    --outfile $(RELEASE)/k6gate-$(VERSION)-linux-$${arch%%:*} || exit 1; \
	done
	cd $(RELEASE) && sha256sum k6gate-* > SHA256SUMS && cat SHA256SUMS

# The .deb and .rpm of each release binary (nfpm, built by scripts/tools), beside them.
packages: release-binaries
	for arch in amd64 arm64; do \
	  bash scripts/package.sh $$arch $(RELEASE)/k6gate-$(VERSION)-linux-$$arch $(RELEASE) $(VERSION) || exit 1; \
	done
	cd $(RELEASE) && sha256sum k6gate* > SHA256SUMS && cat SHA256SUMS

# Test tools built from Go modules into $(K6GATE_CACHE) (outside the repo; cached by version).
tools: deps
	bash scripts/kube-env build
	bash scripts/tools helm >/dev/null
	bash scripts/tools actionlint >/dev/null
	bash scripts/tools kustomize >/dev/null
	bash scripts/tools flagger >/dev/null
	bash scripts/tools qemu >/dev/null
	bash scripts/tools postgres >/dev/null
	bash scripts/tools nfpm >/dev/null
	bash scripts/tools helm-docs >/dev/null
	bash scripts/tools chglog >/dev/null
	bash scripts/tools lintian >/dev/null
	bash scripts/tools chromium >/dev/null


typecheck: deps
	node_modules/.bin/tsc --noEmit -p .

# The static stage of `make test` alone: lint, layer rules, unused code.
lint: deps
	$(BUN) node_modules/eslint/bin/eslint.js . --max-warnings 0
	$(BUN) node_modules/dependency-cruiser/bin/dependency-cruiser.mjs src --config .dependency-cruiser.cjs
	$(BUN) node_modules/knip/bin/knip.js

format: deps
	node_modules/.bin/prettier --write .

# The README's test command. Ends with a plain `N passed, N failed` line.
test: deps build release-binaries tools
	bash scripts/test.sh

# The end-to-end suite against a real k6 (CI's real-k6 job; k6 is never installed here):
#   make test-real-k6 K6_BINARY=/path/to/k6
test-real-k6: deps build
	@test -x "$(K6_BINARY)" || { echo "test-real-k6: set K6_BINARY to a real k6 executable" >&2; exit 2; }
	K6_BINARY="$(K6_BINARY)" bash scripts/test.sh test/e2e

demo: deps build
	$(BUN) scripts/demo.ts

# Checks or installs its tools first (wrk, the Go original), then measures.
bench: deps build
	bash bench/tools.sh
	$(BUN) bench/start.ts
	$(BUN) bench/store.ts
	$(BUN) bench/history.ts
	$(BUN) bench/stateful.ts
	$(BUN) bench/cpu.ts
	$(BUN) bench/run.ts
	$(BUN) bench/pods.ts
	$(BUN) bench/cli.ts

# Start to the first 200 and idle RSS beside the Go original (BENCH_BASELINE=/path/to/an/older
# k6gate adds a column), and each module's import cost.
bench-start: deps build
	bash bench/build-original.sh >/dev/null
	$(BUN) bench/start.ts

# Waited-run latency and 429/s with --store sqlite beside --store memory.
bench-store: deps build
	bash bench/tools.sh
	$(BUN) bench/store.ts

# 10,000 stored runs and 50 open log streams: RSS and the runs API's latency.
bench-history: deps build
	$(BUN) bench/history.ts

# `k6gate run` beside k6 alone.
bench-stateful: deps build
	$(BUN) bench/stateful.ts

bench-cpu: deps build
	bash bench/build-original.sh >/dev/null
	$(BUN) bench/cpu.ts

bench-cli: deps build
	$(BUN) bench/cli.ts

# Pod runs alone (50 concurrent job runs, one TestRun of 50 runners on the kwok cluster).
bench-pods: deps build
	bash scripts/kube-env build
	$(BUN) bench/pods.ts

clean:
	rm -rf dist
