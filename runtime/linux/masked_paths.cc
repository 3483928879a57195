#include "runtime/linux/masked_paths.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"
#include "runtime/linux/mount_api.h"
#include "runtime/linux/safe_path.h"

namespace berth::linux_ns {
namespace {

absl::StatusOr<UniqueFd> OpenDevNull(int rootfd) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd null, OpenInRoot(rootfd, "/dev/null", O_PATH | O_NOFOLLOW));
  struct stat st;
  if (::fstat(null.get(), &st) != 0) return ErrnoError("stat /dev/null");
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
    return absl::FailedPreconditionError("/dev/null in the container is not the null device (1:3)");
  }
  return null;
}

}  // namespace

absl::Status MaskPaths(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::OkStatus();
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError("open /");
  UniqueFd null;
  for (const std::string& path : paths) {
    auto target = OpenInRoot(root.get(), path, O_PATH | O_NOFOLLOW);
    if (!target.ok()) {
      if (absl::IsNotFound(target.status())) continue;
      return Annotate(target.status(), "maskedPaths");
    }
    struct stat st;
    if (::fstat(target->get(), &st) != 0)
      return ErrnoError(absl::StrCat("maskedPaths: stat ", path));
    int rc;
    if (S_ISDIR(st.st_mode)) {
      rc = ::mount("tmpfs", FdPath(target->get()).c_str(), "tmpfs", MS_RDONLY, nullptr);
    } else {
      if (!null) {
        BERTH_ASSIGN_OR_RETURN(null, OpenDevNull(root.get()));
      }
      rc = ::mount(FdPath(null.get()).c_str(), FdPath(target->get()).c_str(), nullptr, MS_BIND,
                   nullptr);
    }
    if (rc != 0) return ErrnoError(absl::StrCat("maskedPaths: mask ", path));
  }
  return absl::OkStatus();
}

absl::Status MakePathsReadonly(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::OkStatus();
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError("open /");
  for (const std::string& path : paths) {
    auto target = OpenInRoot(root.get(), path, O_PATH | O_NOFOLLOW);
    if (!target.ok()) {
      if (absl::IsNotFound(target.status())) continue;
      return Annotate(target.status(), "readonlyPaths");
    }
    UniqueFd tree(::open_tree(target->get(), "",
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH));
    if (!tree || SetMountAttr(tree.get(), true, MOUNT_ATTR_RDONLY, 0) != 0 ||
        ::move_mount(tree.get(), "", target->get(), "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      return ErrnoError(absl::StrCat("readonlyPaths: make ", path, " read-only"));
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
