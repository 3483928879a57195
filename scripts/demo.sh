#!/bin/sh
# README command 1: install, build, start berthd on its defaults (socket
# /run/berth/berthd.sock, SQLite under /var/lib/berth) unless it already
# runs, load a busybox image into it (an OCI layout made from the tests'
# busybox rootfs) and run a real container of that image with berthctl.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
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
image=berth-demo/busybox
if ! "$berthctl" image inspect "$image" >/dev/null 2>&1; then
  rm -rf /tmp/berth-demo
  /usr/bin/python3 tests/fixtures/bundle.py /tmp/berth-demo >/dev/null
  /usr/bin/python3 - <<'PY'
import sys
sys.path.insert(0, "tests/fixtures")
import oci_image
oci_image.write_layout("/tmp/berth-demo/image", [oci_image.tar_of_dir("/tmp/berth-demo/rootfs")],
                       config={"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]})
PY
  "$berthctl" load -q -i /tmp/berth-demo/image --name "$image"
fi
exec "$berthctl" run --rm --name "berth-demo-$$" --hostname demo "$image" sh -c \
  'echo "hello from a berth container under berthd: pid $$, hostname $(hostname), uid $(id -u)"; cat /proc/self/mountinfo | wc -l | xargs echo mounts:'
