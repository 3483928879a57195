#!/bin/sh
# Installs what berth needs to build, test and benchmark on Debian 12.
set -eu
PACKAGES="meson ninja-build pkg-config g++ libyajl-dev libcap-dev libseccomp-dev libmnl-dev
  libabsl-dev catch2 busybox-static containerd docker.io podman python3 python3-pytest python3-pytest-timeout iproute2 util-linux procps
  golang-github-docker-docker-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
