// Helpers for the new mount API (open_tree, move_mount, mount_setattr; glibc
// 2.36 wraps them in <sys/mount.h> — never include <linux/mount.h> with it).
#pragma once

#include <sys/mount.h>

#include <cstdint>

namespace berth::linux_ns {

// MS_RDONLY/MS_NOSUID/MS_NODEV/MS_NOEXEC/atime flags → MOUNT_ATTR_* bits.
uint64_t MountAttrFromFlags(unsigned long ms_flags);

// mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), ...).
int SetMountAttr(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation = 0);

}  // namespace berth::linux_ns
