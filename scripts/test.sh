#!/usr/bin/env bash
# Runs k6gate's checks and tests, then prints one plain line: `N passed, N failed[, N skipped]`.
# Static checks (tsc --noEmit, prettier --check) count as one test each.
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

check 'typecheck (tsc --noEmit, strict)' node_modules/.bin/tsc --noEmit -p .
check 'format (prettier --check)' node_modules/.bin/prettier --check . --log-level warn

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo '== bun test'
node_modules/.bin/bun test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

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
