#!/bin/sh
# The cgroup v2 suite: boots Debian 12's own kernel under qemu (TCG; no KVM
# needed) with only the unified hierarchy (cgroup_no_v1=all), runs berth's
# cgroup v2 tests inside (tests/vm/tests.sh) and writes their results as
# JUnit XML. Nothing on the host is touched but the cache directory.
#
#   tests/vm/run-cgroup-v2.sh [JUNIT_XML]
#   BERTH=path/to/berth (default build/runtime/berth)
#   VM_CACHE=dir (default: vm-cache beside berth's build directory)
#   VM_APPEND="berth_vm_preenable" (kernel arguments; this one enables every
#     controller in the root first, to run an old berth past its placement bug;
#     berth_vm_only=NAME runs the one case t_NAME of tests.sh)
#
# A missing qemu or kernel is a failed test case, never a skip: CI must
# really run this.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BERTH=${BERTH:-$ROOT/build/runtime/berth}
BUILD_DIR=$(cd "$(dirname "$BERTH")/.." 2>/dev/null && pwd || echo "$ROOT/build")
CACHE=${VM_CACHE:-$BUILD_DIR/vm-cache}
JUNIT=${1:-$CACHE/junit.xml}
TIMEOUT=${VM_TIMEOUT:-540}

WORK=$(mktemp -d /tmp/berth-vm.XXXXXX)
[ -n "${VM_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results.txt
: >"$RESULTS"

fail_setup() {
  echo "vm: $*" >&2
  echo "RESULT vm.setup fail $*" >"$RESULTS"
  write_junit
  exit 1
}

# RESULT lines (name pass|fail|skip message) → JUnit XML; a run that did not
# reach its DONE line adds a failed case.
write_junit() {
  mkdir -p "$(dirname "$JUNIT")"
  tr -d '\r' <"$RESULTS" | awk -v log_file="$WORK/console.log" '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s);
                      gsub(/"/, "\\&quot;", s); return s }
    /^RESULT / { name = $2; res = $3; msg = $0; sub(/^RESULT [^ ]+ [^ ]+ ?/, "", msg)
                 n++; names[n] = name; results[n] = res; msgs[n] = msg; next }
    /^DONE/ { done = 1 }
    END {
      if (!done && !(n == 1 && names[1] == "vm.setup")) {
        n++; names[n] = "vm.finished"; results[n] = "fail"
        msgs[n] = "the VM did not report DONE (crashed, hung or timed out; see the console log above)"
      }
      print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      print "<testsuites><testsuite name=\"vm\" tests=\"" n "\">"
      for (i = 1; i <= n; i++) {
        printf "<testcase classname=\"vm.cgroup_v2\" name=\"%s\">", esc(names[i])
        if (results[i] == "fail") printf "<failure message=\"%s\"/>", esc(msgs[i])
        else if (results[i] == "skip") printf "<skipped message=\"%s\"/>", esc(msgs[i])
        print "</testcase>"
      }
      print "</testsuite></testsuites>"
    }' >"$JUNIT"
}

command -v qemu-system-x86_64 >/dev/null ||
  fail_setup "qemu-system-x86_64 not found (apt-get install qemu-system-x86; scripts/install-deps.sh does)"
[ -x "$BERTH" ] || fail_setup "berth binary $BERTH not found (build first, or set BERTH)"
BUSYBOX=$(command -v busybox) || fail_setup "busybox not found (apt-get install busybox-static)"
ldd "$BUSYBOX" >/dev/null 2>&1 && fail_setup "$BUSYBOX is dynamically linked (install busybox-static)"

# --- Debian 12's kernel, cached: the version linux-image-amd64 depends on.
mkdir -p "$CACHE"
fetch_kernel() {
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || return 1
  if [ ! -f "$CACHE/$pkg.done" ]; then
    rm -rf "$CACHE/kernel" "$CACHE"/*.deb "$CACHE"/*.done
    (cd "$CACHE" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
    dpkg-deb -x "$CACHE"/"$pkg"_*.deb "$CACHE/kernel" || return 1
    rm -f "$CACHE"/*.deb
    # Only the kernel and the modules the VM loads (400 MB → 15 MB).
    find "$CACHE/kernel/lib/modules" -name '*.ko' ! -name 'virtio*.ko' ! -name 'bfq.ko' -delete
    touch "$CACHE/$pkg.done"
  fi
  KVER=${pkg#linux-image-}
}
fetch_kernel || fail_setup "cannot fetch Debian's kernel (apt-get download linux-image-6.1.0-*-amd64 failed)"
VMLINUZ=$CACHE/kernel/boot/vmlinuz-$KVER
MODDIR=$CACHE/kernel/lib/modules/$KVER/kernel
[ -f "$VMLINUZ" ] || fail_setup "no $VMLINUZ in the kernel package"

# --- The initramfs: busybox, berth with its libraries, the kernel modules
# for virtio disks, a container rootfs, the init and the tests.
IRD=$WORK/initrd
mkdir -p "$IRD/bin" "$IRD/lib/modules" "$IRD/rootfs/bin" "$IRD/proc" "$IRD/sys" "$IRD/dev" \
  "$IRD/run" "$IRD/tmp" "$IRD/newroot" "$IRD/etc"
cp "$BUSYBOX" "$IRD/bin/busybox"
for app in $("$BUSYBOX" --list); do [ "$app" = busybox ] || ln -sf busybox "$IRD/bin/$app"; done
cp "$BERTH" "$IRD/bin/berth"
for lib in $(ldd "$BERTH" | awk '/=>/ {print $3} /^\t\// {print $1}'); do
  mkdir -p "$IRD$(dirname "$lib")"
  cp -L "$lib" "$IRD$lib"
done
for m in virtio/virtio.ko virtio/virtio_ring.ko virtio/virtio_pci_legacy_dev.ko \
  virtio/virtio_pci_modern_dev.ko virtio/virtio_pci.ko block/virtio_blk.ko; do
  [ -f "$MODDIR/drivers/$m" ] && cp "$MODDIR/drivers/$m" "$IRD/lib/modules/"
done
cp "$MODDIR/block/bfq.ko" "$IRD/lib/modules/" 2>/dev/null # io.bfq.weight, loaded by its test
cp "$BUSYBOX" "$IRD/rootfs/bin/busybox"
for app in sh cat echo sleep true false ls head dd mkdir rm kill grep wc; do
  ln -sf busybox "$IRD/rootfs/bin/$app"
done
mkdir -p "$IRD/rootfs/proc" "$IRD/rootfs/dev" "$IRD/rootfs/sys" "$IRD/rootfs/tmp"
cp "$HERE/init.sh" "$IRD/init"
cp "$HERE/tests.sh" "$IRD/tests.sh"
chmod 755 "$IRD/init" "$IRD/tests.sh"
(cd "$IRD" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initrd.gz" ||
  fail_setup "cannot build the initramfs"

# A small disk: a real block device (virtio-blk) for io.* and device rules.
dd if=/dev/zero of="$WORK/disk.img" bs=1M count=8 2>/dev/null

# ttyS0: the console (shown); ttyS1: the RESULT lines.
echo "vm: booting $KVER under qemu (TCG), results over the second serial port"
start=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 1024 -smp 1 \
  -display none -monitor none -no-reboot \
  -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=3 ${VM_APPEND:-}" \
  -drive file="$WORK/disk.img",if=virtio,format=raw \
  -serial stdio -serial file:"$RESULTS" </dev/null | tee "$WORK/console.log"
echo "vm: finished in $(($(date +%s) - start)) s"
write_junit
grep -q '^DONE' "$RESULTS" || exit 1
! tr -d '\r' <"$RESULTS" | grep -q '^RESULT [^ ]* fail'
