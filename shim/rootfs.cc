#include "shim/rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/mount_options.h"

namespace berth::shim {

absl::StatusOr<int> MountRootfs(const MountList& mounts, const std::string& target) {
  if (mounts.empty()) return 0;
  if (mkdir(target.c_str(), 0711) != 0 && errno != EEXIST) {
    return ErrnoError(absl::StrCat("create ", target));
  }
  int mounted = 0;
  for (const containerd::types::Mount& m : mounts) {
    std::vector<std::string> opts(m.options().begin(), m.options().end());
    MountOptions o = ParseMountOptions(opts);
    bool bind = o.is_bind() || m.type() == "bind" || m.type() == "rbind";
    unsigned long flags = o.flags;
    if (bind) flags |= MS_BIND | (m.type() == "rbind" ? MS_REC : 0);
    // A bind mount takes its flags only on a remount.
    unsigned long first = bind ? flags & (MS_BIND | MS_REC) : flags;
    absl::Status st;
    if (mount(m.source().c_str(), target.c_str(), bind ? nullptr : m.type().c_str(), first,
              o.data.empty() ? nullptr : o.data.c_str()) != 0) {
      st = ErrnoError(absl::StrCat("mount rootfs ", m.type(), " ", m.source(), " on ", target));
    } else {
      ++mounted;
      if (bind && (flags & ~(MS_BIND | MS_REC)) != 0 &&
          mount(nullptr, target.c_str(), nullptr, flags | MS_REMOUNT, nullptr) != 0) {
        st = ErrnoError(absl::StrCat("remount rootfs ", m.source(), " with its options"));
      }
      for (unsigned long p : o.propagation) {
        if (st.ok() && mount(nullptr, target.c_str(), nullptr, p, nullptr) != 0) {
          st = ErrnoError(absl::StrCat("set propagation of rootfs ", m.source()));
        }
      }
    }
    if (!st.ok()) {
      UnmountRootfs(target, mounted).IgnoreError();
      return st;
    }
  }
  return mounted;
}

absl::Status UnmountRootfs(const std::string& target, int count) {
  absl::Status result;
  for (int i = 0; i < count; ++i) {
    if (umount2(target.c_str(), 0) != 0 && umount2(target.c_str(), MNT_DETACH) != 0 &&
        result.ok()) {
      result = ErrnoError(absl::StrCat("unmount ", target));
    }
  }
  return result;
}

void UnmountAll(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (umount2(target.c_str(), MNT_DETACH) != 0) return;  // EINVAL: nothing mounted any more
  }
}

}  // namespace berth::shim
