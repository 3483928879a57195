#include "runtime/linux/mount_api.h"

#include <fcntl.h>

namespace berth::linux_ns {

uint64_t MountAttrFromFlags(unsigned long f) {
  uint64_t a = 0;
  if (f & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (f & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (f & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (f & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (f & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (f & MS_NOATIME) {
    a |= MOUNT_ATTR_NOATIME;
  } else if (f & MS_STRICTATIME) {
    a |= MOUNT_ATTR_STRICTATIME;
  }
  return a;
}

int SetMountAttr(int fd, bool recursive, uint64_t set, uint64_t clr, uint64_t propagation) {
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  // Changing the atime mode requires clearing the whole atime field first.
  if (set & MOUNT_ATTR__ATIME) attr.attr_clr |= MOUNT_ATTR__ATIME;
  attr.propagation = propagation;
  return ::mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                         sizeof attr);
}

}  // namespace berth::linux_ns
