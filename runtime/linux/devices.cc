#include "runtime/linux/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"
#include "runtime/linux/safe_path.h"

namespace berth::linux_ns {
namespace {

std::vector<spec::Device> DefaultDevices() {
  auto dev = [](const char* path, int64_t major, int64_t minor) {
    spec::Device d;
    d.path = path;
    d.type = 'c';
    d.major = major;
    d.minor = minor;
    d.file_mode = 0666;
    d.uid = 0;
    d.gid = 0;
    return d;
  };
  return {dev("/dev/null", 1, 3),   dev("/dev/zero", 1, 5),    dev("/dev/full", 1, 7),
          dev("/dev/random", 1, 8), dev("/dev/urandom", 1, 9), dev("/dev/tty", 5, 0)};
}

mode_t TypeBits(char type) {
  switch (type) {
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      return S_IFCHR;  // 'c' and 'u'
  }
}

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

// A bind mount of the host's node, for when mknod is not permitted.
absl::Status BindHostNode(int parent, const std::string& name, const std::string& host_path) {
  UniqueFd f(::openat(parent, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000));
  if (!f) return ErrnoError(absl::StrCat("create mount point for ", host_path));
  UniqueFd target(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target ||
      ::mount(host_path.c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(absl::StrCat("bind mount device ", host_path));
  }
  return absl::OkStatus();
}

absl::Status CreateDevice(int rootfd, const spec::Device& d) {
  // "/mnt/" names the node /mnt.
  std::string path = d.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  auto [parent_path, name] = SplitParent(path);
  BERTH_ASSIGN_OR_RETURN(UniqueFd parent,
                         CreateInRoot(rootfd, parent_path, TargetKind::kDirectory));
  UniqueFd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError(absl::StrCat("open ", parent_path));
  // A device listed again (or present in the image) replaces what is there;
  // never follow what might be a symlink planted by the image.
  ::unlinkat(dir.get(), name.c_str(), 0);
  mode_t mode = TypeBits(d.type) | (d.file_mode.value_or(0666) & 07777);
  dev_t devnum =
      d.type == 'p' ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  if (::mknodat(dir.get(), name.c_str(), mode, devnum) != 0) {
    if (errno != EPERM) return ErrnoError(absl::StrCat("create device ", d.path));
    return BindHostNode(dir.get(), name, path);
  }
  if (::fchownat(dir.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(absl::StrCat("chown device ", d.path));
  }
  // mknod is subject to the umask; set the exact mode.
  if (::fchmodat(dir.get(), name.c_str(), mode & 07777, 0) != 0) {
    return ErrnoError(absl::StrCat("chmod device ", d.path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateDevices(int rootfd, const std::vector<spec::Device>& devices,
                           bool with_defaults) {
  if (with_defaults) {
    for (const spec::Device& d : DefaultDevices()) BERTH_RETURN_IF_ERROR(CreateDevice(rootfd, d));
  }
  for (const spec::Device& d : devices) {
    BERTH_RETURN_IF_ERROR(Annotate(CreateDevice(rootfd, d), "linux.devices"));
  }
  return absl::OkStatus();
}

absl::Status CreateDevSymlinks(int rootfd) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd dev, OpenInRoot(rootfd, "/dev", O_RDONLY | O_DIRECTORY));
  struct Link {
    const char* name;
    const char* target;
  };
  static constexpr Link kLinks[] = {{"fd", "/proc/self/fd"},
                                    {"stdin", "/proc/self/fd/0"},
                                    {"stdout", "/proc/self/fd/1"},
                                    {"stderr", "/proc/self/fd/2"},
                                    {"ptmx", "pts/ptmx"}};
  for (const Link& l : kLinks) {
    if (absl::string_view(l.name) == "ptmx") ::unlinkat(dev.get(), l.name, 0);
    if (::symlinkat(l.target, dev.get(), l.name) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("create /dev/", l.name));
    }
  }
  if (::access("/proc/kcore", F_OK) == 0 && ::symlinkat("/proc/kcore", dev.get(), "core") != 0 &&
      errno != EEXIST) {
    return ErrnoError("create /dev/core");
  }
  return absl::OkStatus();
}

absl::Status CreateConsoleMountpoint(int rootfd) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd dev, OpenInRoot(rootfd, "/dev", O_RDONLY | O_DIRECTORY));
  ::unlinkat(dev.get(), "console", 0);
  UniqueFd f(
      ::openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!f) return ErrnoError("create /dev/console");
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
