#!/usr/bin/env bash
# Runs the benchmarks (see BENCHMARKS.md). 10,000-connection scenarios need
# file descriptors: raise the soft limit to the hard one (brokers and the
# generator, spawned from here, inherit it).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The connection scenarios open their clients from a small C program (see
# bench/gen/native-connect.ts): build it when missing or older than its source.
# Without cc they fall back to the Node generator, except under CI=true where
# those two scenarios then fail (the quick subset uses neither).
connector=dist/bench/gen/connect-storm
if [ ! -x "$connector" ] || [ bench/gen/connect-storm.c -nt "$connector" ]; then
  if command -v cc >/dev/null 2>&1; then
    mkdir -p "$(dirname "$connector")"
    cc -O2 -Wall -o "$connector" bench/gen/connect-storm.c
  elif [ "${CI:-}" = true ]; then
    echo "bench: cc not found: connect-storm and idle-memory will fail (CI=true: no Node fallback)" >&2
  else
    echo "bench: cc not found: connect-storm and idle-memory fall back to the Node generator" >&2
  fi
fi
exec node dist/bench/run.js "$@"
