#!/bin/sh
# /init of the cgroup v2 VM (run-cgroup-v2.sh builds the initramfs).
# pivot_root(2) refuses the initramfs (rootfs) as the old root, so the first
# stage copies everything to a tmpfs and switch_roots into it; the second
# mounts what berth needs, runs tests.sh with its RESULT lines on ttyS1, and
# powers off.
export PATH=/bin
if [ "${BERTH_VM_STAGE:-1}" = 1 ]; then
  mount -t tmpfs -o size=400m tmpfs /newroot
  for d in bin lib lib64 usr etc rootfs init tests.sh; do
    [ -e "/$d" ] && cp -a "/$d" /newroot/
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
  export BERTH_VM_STAGE=2
  exec switch_root /newroot /init
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  [ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko || echo "vm: insmod $m failed"; }
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "vm: kernel $(uname -r), /sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup)," \
  "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

/tests.sh >/dev/ttyS1 2>/dev/console
echo "vm: tests finished"
sync
poweroff -f
