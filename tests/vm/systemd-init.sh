#!/bin/sh
# /init of the systemd VM's initramfs (run-systemd.sh builds it): loads the
# modules for the virtio disk and ext4, mounts the guest's root (/dev/vda)
# and hands over to systemd as pid 1.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
  crc16 crc32c_generic libcrc32c mbcache jbd2 ext4; do
  [ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko || echo "vm: insmod $m failed"; }
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "vm: cannot mount /dev/vda"; sleep 1; echo o >/proc/sysrq-trigger; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
