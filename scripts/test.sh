#!/bin/sh
# README command 2: install, build, run every test suite (as root), print totals.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec /usr/bin/python3 tests/run_all.py "$@"
