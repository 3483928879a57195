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

std::string NodePath(const spec::Device& d) {
  // "/mnt/" names the node /mnt.
  std::string path = d.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

mode_t NodeMode(const spec::Device& d) {
  return TypeBits(d.type) | (d.file_mode.value_or(0666) & 07777);
}

dev_t NodeNumber(const spec::Device& d) {
  return d.type == 'p' ? 0
                       : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
}

// The host id a container id maps to; unmapped ids show as the overflow id.
uint32_t HostId(uint32_t id, const std::vector<spec::IdMapping>& maps) {
  for (const spec::IdMapping& m : maps) {
    if (id >= m.container_id && id - m.container_id < m.size)
      return m.host_id + id - m.container_id;
  }
  return 65534;
}

// An empty file in `parent` to bind a node onto.
absl::StatusOr<UniqueFd> NodeMountPoint(int parent, const std::string& name,
                                        const std::string& what) {
  UniqueFd f(::openat(parent, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0000));
  if (!f) return ErrnoError(absl::StrCat("create mount point for ", what));
  UniqueFd target(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!target) return ErrnoError(absl::StrCat("open mount point for ", what));
  return target;
}

// A bind mount of the host's node, for when mknod is not permitted.
absl::Status BindHostNode(int parent, const std::string& name, const std::string& host_path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd target, NodeMountPoint(parent, name, host_path));
  if (::mount(host_path.c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError(absl::StrCat("bind mount device ", host_path));
  }
  return absl::OkStatus();
}

absl::Status CreateDevice(int rootfd, const spec::Device& d) {
  std::string path = NodePath(d);
  auto [parent_path, name] = SplitParent(path);
  BERTH_ASSIGN_OR_RETURN(UniqueFd parent,
                         CreateInRoot(rootfd, parent_path, TargetKind::kDirectory));
  UniqueFd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError(absl::StrCat("open ", parent_path));
  // A device listed again (or present in the image) replaces what is there;
  // never follow what might be a symlink planted by the image.
  ::unlinkat(dir.get(), name.c_str(), 0);
  mode_t mode = NodeMode(d);
  if (::mknodat(dir.get(), name.c_str(), mode, NodeNumber(d)) != 0) {
    if (errno != EPERM) return ErrnoError(absl::StrCat("create device ", d.path));
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat(
          d.path, ": mknod is not permitted here (user namespace) and the host has no ", path,
          " to bind-mount"));
    }
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

// Binds node `index` of the staging tmpfs (`stage`) onto the device's path.
absl::Status BindStagedDevice(int rootfd, const spec::Device& d, size_t index, int stage) {
  std::string path = NodePath(d);
  auto [parent_path, name] = SplitParent(path);
  BERTH_ASSIGN_OR_RETURN(UniqueFd parent,
                         CreateInRoot(rootfd, parent_path, TargetKind::kDirectory));
  UniqueFd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError(absl::StrCat("open ", parent_path));
  ::unlinkat(dir.get(), name.c_str(), 0);
  BERTH_ASSIGN_OR_RETURN(UniqueFd target, NodeMountPoint(dir.get(), name, d.path));
  UniqueFd node(::openat(stage, absl::StrCat(index).c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node) return ErrnoError(absl::StrCat("open the node made for ", d.path));
  if (::mount(FdPath(node.get()).c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND,
              nullptr) != 0) {
    return ErrnoError(absl::StrCat("bind mount the node made for ", d.path));
  }
  return absl::OkStatus();
}

// The staging tmpfs is attached inside the container's /dev for as long as
// the binds take, then detached and its mount point removed.
absl::Status BindStagedDevices(int rootfd, const std::vector<spec::Device>& devices,
                               int staged_fd) {
  constexpr char kStage[] = ".berth-devices";
  BERTH_ASSIGN_OR_RETURN(UniqueFd dev, CreateInRoot(rootfd, "/dev", TargetKind::kDirectory));
  UniqueFd devdir(::openat(dev.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!devdir) return ErrnoError("open /dev");
  if (::mkdirat(devdir.get(), kStage, 0700) != 0) {
    return ErrnoError("linux.devices: create /dev/.berth-devices");
  }
  absl::Status status;
  UniqueFd mountpoint(
      ::openat(devdir.get(), kStage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!mountpoint || ::move_mount(staged_fd, "", mountpoint.get(), "",
                                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    status = ErrnoError("linux.devices: attach the nodes made before the user namespace");
  } else {
    UniqueFd stage(::openat(devdir.get(), kStage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!stage) status = ErrnoError("linux.devices: open the nodes made before the user namespace");
    for (size_t i = 0; status.ok() && i < devices.size(); ++i) {
      status = Annotate(BindStagedDevice(rootfd, devices[i], i, stage.get()),
                        absl::StrCat("linux.devices[", i, "]"));
    }
    if (::umount2(FdPath(stage ? stage.get() : mountpoint.get()).c_str(), MNT_DETACH) != 0 &&
        status.ok()) {
      status = ErrnoError("linux.devices: detach the staging file system");
    }
  }
  ::unlinkat(devdir.get(), kStage, AT_REMOVEDIR);
  return status;
}

}  // namespace

absl::Status CreateDevices(int rootfd, const std::vector<spec::Device>& devices, bool with_defaults,
                           int staged_fd) {
  if (with_defaults) {
    for (const spec::Device& d : DefaultDevices()) BERTH_RETURN_IF_ERROR(CreateDevice(rootfd, d));
  }
  if (staged_fd >= 0) return BindStagedDevices(rootfd, devices, staged_fd);
  for (size_t i = 0; i < devices.size(); ++i) {
    BERTH_RETURN_IF_ERROR(
        Annotate(CreateDevice(rootfd, devices[i]), absl::StrCat("linux.devices[", i, "]")));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> StageDevices(const std::vector<spec::Device>& devices,
                                      const std::vector<spec::IdMapping>& uid_mappings,
                                      const std::vector<spec::IdMapping>& gid_mappings) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return ErrnoError("linux.devices: fsopen tmpfs");
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
      ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoError("linux.devices: create a tmpfs");
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC));
  if (!mnt) return ErrnoError("linux.devices: fsmount tmpfs");
  for (size_t i = 0; i < devices.size(); ++i) {
    const spec::Device& d = devices[i];
    std::string name = absl::StrCat(i);
    std::string where = absl::StrCat("linux.devices[", i, "] (", d.path, ")");
    mode_t mode = NodeMode(d);
    if (::mknodat(mnt.get(), name.c_str(), mode, NodeNumber(d)) != 0) {
      return ErrnoError(absl::StrCat(where, ": create the node"));
    }
    if (::fchownat(mnt.get(), name.c_str(), HostId(d.uid.value_or(0), uid_mappings),
                   HostId(d.gid.value_or(0), gid_mappings), AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError(absl::StrCat(where, ": chown the node"));
    }
    if (::fchmodat(mnt.get(), name.c_str(), mode & 07777, 0) != 0) {
      return ErrnoError(absl::StrCat(where, ": chmod the node"));
    }
  }
  return mnt;
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
