#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks talk to (real Mosquitto
# clients and broker; PostgreSQL, whose server binaries the registry store tests
# run as throw-away clusters, see test/helpers/postgres.ts), and a C compiler for
# the benchmarks' connection generator (bench/gen/connect-storm.c), and Chromium for
# the dashboard's end-to-end tests (driven by playwright-core; no browser is ever
# downloaded). Needs root or sudo; safe to run again.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends mosquitto mosquitto-clients postgresql ca-certificates coreutils gcc libc6-dev chromium fonts-liberation
