#!/bin/sh
# The systemd cgroup driver suite: boots Debian 12's own kernel under qemu
# (TCG; no KVM needed) on a Debian 12 root file system with systemd as pid 1
# (cgroup v2, as systemd 252 sets it up), runs systemd-tests.sh there from a
# systemd unit and writes the results as JUnit XML.
#
#   tests/vm/run-systemd.sh [JUNIT_XML]
#   BERTH=path/to/berth (default build/runtime/berth)
#   VM_CACHE=dir (default: vm-cache beside berth's build directory)
#   VM_APPEND="berth_vm_only=NAME" (kernel arguments; this one runs the one
#     case t_NAME of systemd-tests.sh)
#
# The guest's root file system is made once by debootstrap (Debian 12 with
# systemd, dbus and a user 1000) into an ext4 image (mkfs.ext4 -d, no loop
# mount) cached in VM_CACHE; qemu writes to a throw-away snapshot of it, so
# a second run starts from the same image. berth, its libraries, a busybox
# rootfs for bundles and the tests come in on a second, read-only disk made
# anew each run. A missing qemu, kernel or debootstrap is a failed case,
# never a skip: CI must really run this.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BERTH=${BERTH:-$ROOT/build/runtime/berth}
BUILD_DIR=$(cd "$(dirname "$BERTH")/.." 2>/dev/null && pwd || echo "$ROOT/build")
CACHE=${VM_CACHE:-$BUILD_DIR/vm-cache}
JUNIT=${1:-$CACHE/junit-systemd.xml}
TIMEOUT=${VM_TIMEOUT:-600}
# Bump when the guest's configuration below changes: the image is rebuilt.
GUEST_VERSION=1
GUEST_IMAGE=$CACHE/debian12-systemd-v$GUEST_VERSION.ext4

WORK=$(mktemp -d /tmp/berth-vm-systemd.XXXXXX)
[ -n "${VM_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results.txt
: >"$RESULTS"

fail_setup() {
  echo "vm-systemd: $*" >&2
  echo "RESULT vm_systemd.setup fail $*" >"$RESULTS"
  write_junit
  exit 1
}

# RESULT lines (name pass|fail|skip message) → JUnit XML; a run that did not
# reach its DONE line adds a failed case.
write_junit() {
  mkdir -p "$(dirname "$JUNIT")"
  tr -d '\r' <"$RESULTS" | awk '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s);
                      gsub(/"/, "\\&quot;", s); return s }
    /^RESULT / { name = $2; res = $3; msg = $0; sub(/^RESULT [^ ]+ [^ ]+ ?/, "", msg)
                 n++; names[n] = name; results[n] = res; msgs[n] = msg; next }
    /^DONE/ { done = 1 }
    END {
      if (!done && !(n == 1 && names[1] == "vm_systemd.setup")) {
        n++; names[n] = "vm_systemd.finished"; results[n] = "fail"
        msgs[n] = "the VM did not report DONE (crashed, hung or timed out; see the console log above)"
      }
      print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      print "<testsuites><testsuite name=\"vm_systemd\" tests=\"" n "\">"
      for (i = 1; i <= n; i++) {
        printf "<testcase classname=\"vm.systemd\" name=\"%s\">", esc(names[i])
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
command -v mkfs.ext4 >/dev/null || fail_setup "mkfs.ext4 not found (apt-get install e2fsprogs)"
mkdir -p "$CACHE"

# --- Debian 12's kernel with the modules this VM loads: virtio for the
# disks, ext4 and what it needs, bfq for io.bfq.weight. Its own cache (the
# cgroup v2 suite keeps only the virtio modules).
KCACHE=$CACHE/systemd-kernel
fetch_kernel() {
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null 2>&1
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || return 1
  if [ ! -f "$KCACHE/$pkg.done" ]; then
    rm -rf "$KCACHE"
    mkdir -p "$KCACHE"
    (cd "$KCACHE" && apt-get download "$pkg" >/dev/null 2>&1) || return 1
    dpkg-deb -x "$KCACHE"/"$pkg"_*.deb "$KCACHE/kernel" || return 1
    rm -f "$KCACHE"/*.deb
    find "$KCACHE/kernel/lib/modules" -name '*.ko' ! -name 'virtio*.ko' ! -name 'bfq.ko' \
      ! -name ext4.ko ! -name jbd2.ko ! -name mbcache.ko ! -name crc16.ko \
      ! -name crc32c_generic.ko ! -name libcrc32c.ko -delete
    touch "$KCACHE/$pkg.done"
  fi
  KVER=${pkg#linux-image-}
}
fetch_kernel || fail_setup "cannot fetch Debian's kernel (apt-get download linux-image-6.1.0-*-amd64 failed)"
VMLINUZ=$KCACHE/kernel/boot/vmlinuz-$KVER
MODDIR=$KCACHE/kernel/lib/modules/$KVER/kernel
[ -f "$VMLINUZ" ] || fail_setup "no $VMLINUZ in the kernel package"

# --- The guest: Debian 12 with systemd, made once.
mirror() {
  m=$(grep -hs '^URIs:.*/debian/*$' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
  [ -n "$m" ] || m=$(grep -hs '^deb .*/debian/* bookworm ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
    awk '{print $2; exit}')
  echo "${m:-http://deb.debian.org/debian}"
}

# Everything the guest needs, written into its tree before the image is made.
configure_guest() {
  g=$1
  echo berth-vm >"$g/etc/hostname"
  : >"$g/etc/fstab"
  # A user with its own systemd instance, for --rootless.
  echo 'berth:x:1000:1000:berth:/home/berth:/bin/sh' >>"$g/etc/passwd"
  echo 'berth:x:1000:' >>"$g/etc/group"
  echo 'berth:*:19000:0:99999:7:::' >>"$g/etc/shadow"
  mkdir -p "$g/home/berth"
  chown 1000:1000 "$g/home/berth"
  # Nothing the tests do not need: no timers, no login prompt.
  for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
    fstrim.timer e2scrub_reap.service systemd-pstore.service getty@tty1.service \
    serial-getty@ttyS0.service systemd-timesyncd.service; do
    ln -sf /dev/null "$g/etc/systemd/system/$u"
  done
  cat >"$g/etc/systemd/system/berth-tests.service" <<'UNIT'
[Unit]
Description=berth's systemd cgroup driver tests
After=dbus.service systemd-logind.service systemd-user-sessions.service
Wants=dbus.service systemd-logind.service

[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'mkdir -p /payload && mount -o ro /dev/vdb /payload && /payload/systemd-tests.sh >/dev/ttyS1 2>/dev/console; sync; systemctl --no-block poweroff'

[Install]
WantedBy=multi-user.target
UNIT
  mkdir -p "$g/etc/systemd/system/multi-user.target.wants"
  ln -sf /etc/systemd/system/berth-tests.service \
    "$g/etc/systemd/system/multi-user.target.wants/berth-tests.service"
  rm -rf "$g/var/cache/apt/archives"/*.deb "$g/var/lib/apt/lists"/*_Packages
}

build_guest() {
  command -v debootstrap >/dev/null || return 2
  tree=$CACHE/guest.tmp
  rm -rf "$tree" "$GUEST_IMAGE.tmp"
  echo "vm-systemd: debootstrap of Debian 12 with systemd (once; cached in $GUEST_IMAGE)"
  t0=$(date +%s)
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,udev,procps \
    bookworm "$tree" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 || return 1
  configure_guest "$tree"
  truncate -s 1G "$GUEST_IMAGE.tmp"
  mkfs.ext4 -q -F -L berth-root -d "$tree" "$GUEST_IMAGE.tmp" >/dev/null || return 1
  rm -rf "$tree"
  mv "$GUEST_IMAGE.tmp" "$GUEST_IMAGE"
  echo "vm-systemd: guest image made in $(($(date +%s) - t0)) s"
}
if [ ! -f "$GUEST_IMAGE" ]; then
  build_guest
  case $? in
    0) ;;
    2) fail_setup "debootstrap not found (apt-get install debootstrap; scripts/install-deps.sh does)" ;;
    *) fail_setup "cannot build the guest image (see $CACHE/debootstrap.log)" ;;
  esac
fi

# --- The payload disk: berth and the libraries it needs beyond the
# guest's libc, the busybox rootfs for bundles, the tests.
P=$WORK/payload
mkdir -p "$P/lib" "$P/rootfs/bin" "$P/rootfs/proc" "$P/rootfs/dev" "$P/rootfs/sys" "$P/rootfs/tmp"
cp "$BERTH" "$P/berth"
for lib in $(ldd "$BERTH" | awk '/=>/ {print $3}'); do
  case $(basename "$lib") in libc.so.* | libm.so.* | ld-linux*) ;; *) cp -L "$lib" "$P/lib/" ;; esac
done
cp "$BUSYBOX" "$P/rootfs/bin/busybox"
for app in sh cat echo sleep true false ls head dd mkdir rm kill grep wc; do
  ln -sf busybox "$P/rootfs/bin/$app"
done
cp "$HERE/systemd-tests.sh" "$P/systemd-tests.sh"
chmod 755 "$P/systemd-tests.sh"
truncate -s 64M "$WORK/payload.ext4"
mkfs.ext4 -q -F -d "$P" "$WORK/payload.ext4" >/dev/null || fail_setup "cannot make the payload disk"

# --- The initramfs: load the disk and ext4 modules, mount the guest's
# root, hand over to systemd.
IRD=$WORK/initrd
mkdir -p "$IRD/bin" "$IRD/lib/modules" "$IRD/proc" "$IRD/sys" "$IRD/dev" "$IRD/newroot"
cp "$BUSYBOX" "$IRD/bin/busybox"
for app in sh mount umount insmod sleep switch_root mkdir echo cat; do ln -sf busybox "$IRD/bin/$app"; done
for m in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci_legacy_dev.ko \
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko \
  lib/crc16.ko crypto/crc32c_generic.ko lib/libcrc32c.ko fs/mbcache.ko fs/jbd2/jbd2.ko fs/ext4/ext4.ko; do
  [ -f "$MODDIR/$m" ] && cp "$MODDIR/$m" "$IRD/lib/modules/"
done
cp "$HERE/systemd-init.sh" "$IRD/init"
chmod 755 "$IRD/init"
(cd "$IRD" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initrd.gz" ||
  fail_setup "cannot build the initramfs"

# ttyS0: the console (shown); ttyS1: the RESULT lines.
echo "vm-systemd: booting $KVER with systemd under qemu (TCG), results over the second serial port"
start=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 1536 -smp 2 \
  -display none -monitor none -no-reboot \
  -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 systemd.show_status=0 ${VM_APPEND:-}" \
  -drive file="$GUEST_IMAGE",if=virtio,format=raw,snapshot=on \
  -drive file="$WORK/payload.ext4",if=virtio,format=raw,readonly=on \
  -serial stdio -serial file:"$RESULTS" </dev/null | tee "$WORK/console.log"
echo "vm-systemd: finished in $(($(date +%s) - start)) s"
write_junit
grep -q '^DONE' "$RESULTS" || exit 1
! tr -d '\r' <"$RESULTS" | grep -q '^RESULT [^ ]* fail'
