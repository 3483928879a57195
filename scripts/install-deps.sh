#!/bin/sh
# Installs what berth needs to build, test and benchmark on Debian 12 (as
# root): the toolchain and -dev libraries, busybox-static for the test
# rootfs, the real callers the end-to-end tests drive (containerd, docker.io,
# podman), Docker's seccomp profile, and the tools the tests use.
set -eu
PACKAGES="meson ninja-build pkg-config g++ clang-format git libyajl-dev libcap-dev libseccomp-dev libmnl-dev
  libabsl-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc libsqlite3-dev catch2 busybox-static python3 python3-pytest python3-pytest-timeout python3-grpcio python3-grpc-tools libsystemd-dev debootstrap e2fsprogs
  containerd docker.io podman golang-github-docker-docker-dev umoci
  libcurl4-openssl-dev libssl-dev libarchive-dev libisal-dev libzstd-dev docker-registry skopeo apache2-utils strace
  iproute2 util-linux bsdutils passwd mount tar zstd procps runc crun qemu-system-x86"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Default recommends, as the tests were written against (podman's and
  # docker.io's recommended helpers included).
  # shellcheck disable=SC2086
  apt-get install -y -qq $missing
fi
