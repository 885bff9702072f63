#!/usr/bin/env bash
# Runs k6gate's checks and tests, then prints one plain line: `N passed, N failed[, N skipped]`.
# Static checks count as one test each: types, format, lint, layer rules, unused code.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
  fi
}

BUN=node_modules/.bin/bun
check 'typecheck (tsc --noEmit, strict)' node_modules/.bin/tsc --noEmit -p .
check 'format (prettier --check)' node_modules/.bin/prettier --check . --log-level warn
# eslint, dependency-cruiser and knip need Node >= 22; Bun (pinned) runs them on any machine.
check 'lint (typescript-eslint, type-aware)' "$BUN" node_modules/eslint/bin/eslint.js . --max-warnings 0
check 'layers and cycles (dependency-cruiser)' "$BUN" node_modules/dependency-cruiser/bin/dependency-cruiser.mjs src --config .dependency-cruiser.cjs
check 'unused files, exports, dependencies (knip)' "$BUN" node_modules/knip/bin/knip.js

log=$(mktemp)
started=$(mktemp) # its time stamps the temp dirs this run's test clusters make
trap 'rm -f "$log" "$started"' EXIT
# Stopped (Ctrl-C, a CI timeout's SIGTERM): bun test is ended too (its workers and their servers
# follow it: --no-orphans), and the test clusters' temp dirs it made are removed (its workers run
# no exit hooks). Without this the suite ran on in the background, and left them.
interrupted() {
  pkill -TERM -P $$ -x bun 2>/dev/null
  wait
  find "${TMPDIR:-/tmp}" -maxdepth 1 -user "$(id -u)" -newer "$started" \
    \( -name 'k6gate-kube-*' -o -name 'k6gate-cluster-*' \) -exec rm -rf {} + 2>/dev/null
  echo "interrupted: bun test stopped, its test clusters' temp dirs removed"
  exit 130
}
trap interrupted INT TERM
echo '== bun test'
# The files run in two worker processes, slowest first (test/timings.json): most of the suite
# waits on the real Flagger's 10 s analysis ticks, kwok and the API server while the machine
# idles. Each file starts the servers it needs (the preload stops them after it); a worker that
# dies takes its children with it (--no-orphans). Refresh the timings after adding a slow file:
#   node_modules/.bin/bun test --parallel=2 --timings=test/timings.json --update-timings
# In the background, waited for: a signal's trap runs at once instead of after the suite.
# A test or hook without its own limit gets 15 s, not Bun's 5 s: the two workers load a 2-core
# machine, and a CI run saw a 36 ms dry run against the API server take 7.4 s (and fail).
node_modules/.bin/bun test --parallel=2 --no-orphans --timeout=15000 --timings=test/timings.json "$@" 2>&1 | tee "$log" &
wait $!
status=$? # bun test's own status (pipefail: tee does not fail)

# bun prints " 123 pass", " 4 fail" and " 5 skip" near the end.
count() { grep -E "^ *[0-9]+ $1\$" "$log" | tail -1 | tr -dc '0-9'; }
bpass=$(count pass)
bfail=$(count fail)
bskip=$(count skip)
passed=$((passed + ${bpass:-0}))
failed=$((failed + ${bfail:-0}))
if [ "$status" -ne 0 ] && [ "${bfail:-0}" -eq 0 ]; then
  echo "bun test exited with $status without a failing test (crash or unhandled error)"
  failed=$((failed + 1))
fi
line="$passed passed, $failed failed"
[ -n "${bskip:-}" ] && [ "${bskip:-0}" -gt 0 ] && line="$line, $bskip skipped"
echo
echo "$line"
[ "$failed" -eq 0 ]
