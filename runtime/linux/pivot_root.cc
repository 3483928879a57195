#include "runtime/linux/pivot_root.h"

#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "runtime/linux/mount_api.h"

namespace berth::linux_ns {

absl::Status PivotRoot(int rootfs_dirfd) {
  // pivot_root(".", ".") stacks the old root on top of the new one; it is
  // then detached without needing a directory for it inside the rootfs.
  if (::fchdir(rootfs_dirfd) != 0) return ErrnoError("chdir to rootfs");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoError("pivot_root");
  // Keep the unmount from propagating to the host's mounts.
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return ErrnoError("make old root a slave mount");
  }
  if (::umount2(".", MNT_DETACH) != 0) return ErrnoError("detach old root");
  if (::chdir("/") != 0) return ErrnoError("chdir /");
  return absl::OkStatus();
}

absl::Status MoveRoot(const std::string& rootfs) {
  if (::chdir(rootfs.c_str()) != 0) return ErrnoError(absl::StrCat("chdir ", rootfs));
  if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) {
    return ErrnoError("move rootfs to / (--no-pivot)");
  }
  if (::chroot(".") != 0) return ErrnoError("chroot (--no-pivot)");
  if (::chdir("/") != 0) return ErrnoError("chdir /");
  return absl::OkStatus();
}

absl::Status MakeRootReadonly() {
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof attr) != 0) {
    return ErrnoError("make root filesystem read-only");
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
