#!/bin/sh
# README command 1: install, build, start berthd on its defaults (socket
# /run/berth/berthd.sock, SQLite under /var/lib/berth) unless it already
# runs, and run a real container through it with berthctl.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
rootfs=/tmp/berth-demo/rootfs
if [ ! -x "$rootfs/bin/sh" ]; then
  rm -rf /tmp/berth-demo
  /usr/bin/python3 tests/fixtures/bundle.py /tmp/berth-demo >/dev/null
fi
berthctl=./build/supervisor/berthctl/berthctl
if ! "$berthctl" version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup ./build/supervisor/berthd >>/var/log/berthd.log 2>&1 &
  i=0
  until "$berthctl" version >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "berthd did not start; see /var/log/berthd.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "berthd started (pid $!, log /var/log/berthd.log); stop it with: kill $!"
fi
exec "$berthctl" run --rm --name "berth-demo-$$" --hostname demo --rootfs "$rootfs" -- sh -c \
  'echo "hello from a berth container under berthd: pid $$, hostname $(hostname), uid $(id -u)"; cat /proc/self/mountinfo | wc -l | xargs echo mounts:'
