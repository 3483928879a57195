#include "runtime/linux/procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::linux_ns {

namespace {

absl::Status CheckProcfs(int fd, absl::string_view path) {
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) return ErrnoError(absl::StrCat("statfs ", path));
  if (fs.f_type != PROC_SUPER_MAGIC) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not on procfs; refusing to write there"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UniqueFd> OpenProcFile(const std::string& path, int flags) {
  if (path.rfind("/proc/", 0) != 0)
    return absl::InvalidArgumentError(absl::StrCat(path, ": not under /proc"));
  // /proc itself must be a procfs mount (not a symlink, not a bind of
  // something else) ...
  UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!proc) return ErrnoError("open /proc");
  BERTH_RETURN_IF_ERROR(CheckProcfs(proc.get(), "/proc"));
  // ... and the file is reached without leaving that mount: /proc/self is a
  // symlink within procfs, so symlinks beneath are fine, magic links are not.
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string rel = path.substr(6);
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, proc.get(), rel.c_str(), &how, sizeof how)));
  if (!fd && errno == EXDEV) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": crosses a mount point below /proc; refusing to write there"));
  }
  if (!fd) return ErrnoError(absl::StrCat("open ", path));
  BERTH_RETURN_IF_ERROR(CheckProcfs(fd.get(), path));
  return fd;
}

absl::Status WriteProcFile(const std::string& path, absl::string_view value) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenProcFile(path, O_WRONLY));
  if (::write(fd.get(), value.data(), value.size()) < 0) {
    return ErrnoError(absl::StrCat("write \"", value, "\" to ", path));
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
