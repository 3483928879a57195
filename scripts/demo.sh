#!/bin/sh
# README command 1: install, build, make a busybox bundle, run a real container.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
bundle=/tmp/berth-demo
rm -rf "$bundle"
/usr/bin/python3 tests/fixtures/bundle.py "$bundle" -- sh -c \
  'echo "hello from a berth container: pid $$, hostname $(hostname), uid $(id -u)"; cat /proc/self/mountinfo | wc -l | xargs echo mounts:'
exec ./build/runtime/berth run --bundle "$bundle" "berth-demo-$$"
