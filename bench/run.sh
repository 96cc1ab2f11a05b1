#!/usr/bin/env bash
# Runs the benchmarks (see BENCHMARKS.md). 10,000-connection scenarios need
# file descriptors: raise the soft limit to the hard one (brokers and the
# generator, spawned from here, inherit it).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec node dist/bench/run.js "$@"
