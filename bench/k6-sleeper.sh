#!/bin/sh
# A minimal k6 stand-in for the memory benchmark only: prints k6's banner lines, then sleeps
# for K6_SLEEPER_SECONDS (default 60) and exits 0. Hundreds of Bun-based k6 doubles would
# not fit in memory, and the benchmark measures the daemon's RSS, not the child's.
echo "     execution: local"
echo "        script: $2"
echo "        output: -"
exec sleep "${K6_SLEEPER_SECONDS:-60}"
