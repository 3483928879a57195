#include "runtime/linux/mounts.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/mount_options.h"
#include "lib/unique_fd.h"
#include "runtime/linux/mount_api.h"
#include "runtime/linux/safe_path.h"
#include "runtime/linux/tree_copy.h"

namespace berth::linux_ns {
namespace {

constexpr unsigned long kPropagationMask = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;

unsigned long PropagationFlag(const std::string& name) {
  if (name == "shared") return MS_SHARED;
  if (name == "rshared") return MS_SHARED | MS_REC;
  if (name == "slave") return MS_SLAVE;
  if (name == "rslave") return MS_SLAVE | MS_REC;
  if (name == "private") return MS_PRIVATE;
  if (name == "rprivate") return MS_PRIVATE | MS_REC;
  if (name == "unbindable") return MS_UNBINDABLE;
  if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
  return 0;
}

std::string Where(const spec::Mount& m, size_t index) {
  return absl::StrCat("mounts[", index, "] (", m.destination, ")");
}

std::string BindSource(const spec::Mount& m, const MountContext& ctx) {
  if (!m.source.empty() && m.source[0] != '/') return absl::StrCat(ctx.bundle, "/", m.source);
  return m.source;
}

// Applies the propagation changes of the options to the mount at fd.
absl::Status ApplyPropagation(int fd, const MountOptions& opts, absl::string_view where) {
  for (unsigned long p : opts.propagation) {
    if (::mount(nullptr, FdPath(fd).c_str(), nullptr, p, nullptr) != 0) {
      return ErrnoError(absl::StrCat(where, ": set propagation"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyRecursiveAttrs(int fd, const MountOptions& opts, absl::string_view where) {
  if (opts.rec_attr_set == 0 && opts.rec_attr_clr == 0) return absl::OkStatus();
  if (SetMountAttr(fd, true, opts.rec_attr_set, opts.rec_attr_clr) != 0) {
    return ErrnoError(absl::StrCat(where, ": apply recursive mount attributes"));
  }
  return absl::OkStatus();
}

// bind/rbind: clone the source tree detached, set its flags while nobody can
// see it, then attach it at the target.
absl::Status BindMount(const spec::Mount& m, const MountOptions& opts, const MountContext& ctx,
                       absl::string_view where) {
  std::string source = BindSource(m, ctx);
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    return ErrnoError(absl::StrCat(where, ": bind source ", source));
  }
  TargetKind kind = S_ISDIR(st.st_mode) ? TargetKind::kDirectory : TargetKind::kFile;
  BERTH_ASSIGN_OR_RETURN(UniqueFd target, CreateInRoot(ctx.rootfd, m.destination, kind));
  bool recursive = (opts.flags & MS_REC) != 0;
  UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(),
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
  if (!tree) return ErrnoError(absl::StrCat(where, ": bind ", source));
  uint64_t set = MountAttrFromFlags(opts.flags);
  uint64_t clr = MountAttrFromFlags(opts.clear_flags);
  // The atime mode is one field: any change to it (relatime included, which
  // is the value 0) must clear the whole field.
  constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_STRICTATIME | MS_RELATIME;
  if (((opts.flags | opts.clear_flags) & kAtimeFlags) != 0) {
    clr |= MOUNT_ATTR__ATIME;
  }
  if ((set | clr) != 0 && SetMountAttr(tree.get(), false, set, clr) != 0) {
    return ErrnoError(absl::StrCat(where, ": set mount flags"));
  }
  BERTH_RETURN_IF_ERROR(ApplyRecursiveAttrs(tree.get(), opts, where));
  if (::move_mount(tree.get(), "", target.get(), "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    return ErrnoError(absl::StrCat(where, ": attach bind mount of ", source));
  }
  return ApplyPropagation(tree.get(), opts, where);
}

absl::Status MountFilesystem(const std::string& source, const std::string& type,
                             const MountOptions& opts, int target, absl::string_view where) {
  unsigned long flags = opts.flags & ~(kPropagationMask | MS_BIND | MS_REC);
  const char* data = opts.data.empty() ? nullptr : opts.data.c_str();
  if (::mount(source.c_str(), FdPath(target).c_str(), type.c_str(), flags, data) != 0) {
    int err = errno;
    if (err == ENODEV) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown filesystem type \"", type, "\""));
    }
    return ErrnoError(err,
                      absl::StrCat(where, ": mount ", type,
                                   opts.data.empty() ? "" : absl::StrCat(" (", opts.data, ")")));
  }
  return absl::OkStatus();
}

// A "cgroup" mount: a tmpfs with one directory per host hierarchy, each
// showing only the container's own cgroup (a cgroupns-rooted mount, or a bind
// of the container's directory when there is no cgroup namespace).
absl::Status MountCgroupTree(const spec::Mount& m, const MountOptions& opts,
                             const MountContext& ctx, int target, absl::string_view where) {
  unsigned long flags = opts.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
  bool only_v2 = ctx.hierarchies.size() == 1 && ctx.hierarchies[0].unified;
  if (only_v2 || m.type == "cgroup2") {
    if (ctx.new_cgroup_ns) {
      MountOptions o = opts;
      o.flags = flags;
      o.data.clear();
      return MountFilesystem("cgroup2", "cgroup2", o, target, where);
    }
    for (size_t i = 0; i < ctx.hierarchies.size(); ++i) {
      if (!ctx.hierarchies[i].unified) continue;
      UniqueFd tree(
          ::open_tree(AT_FDCWD, ctx.cgroup_dirs[i].c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
      if (!tree || SetMountAttr(tree.get(), false, MountAttrFromFlags(flags), 0) != 0 ||
          ::move_mount(tree.get(), "", target, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        return ErrnoError(absl::StrCat(where, ": bind cgroup ", ctx.cgroup_dirs[i]));
      }
    }
    return absl::OkStatus();
  }
  if (::mount("tmpfs", FdPath(target).c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=755") != 0) {
    return ErrnoError(absl::StrCat(where, ": mount tmpfs for cgroups"));
  }
  // One fd of the new tmpfs serves for the subdirectories and the final
  // read-only switch.
  BERTH_ASSIGN_OR_RETURN(UniqueFd tmpfs_dir,
                         OpenInRoot(ctx.rootfd, m.destination, O_RDONLY | O_DIRECTORY));
  for (size_t i = 0; i < ctx.hierarchies.size(); ++i) {
    const cgroups::Hierarchy& h = ctx.hierarchies[i];
    std::string name = h.mountpoint.substr(h.mountpoint.rfind('/') + 1);
    if (::mkdirat(tmpfs_dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat(where, ": create ", name));
    }
    UniqueFd sub(
        ::openat(tmpfs_dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return ErrnoError(absl::StrCat(where, ": open ", name));
    int rc;
    if (ctx.new_cgroup_ns && !(ctx.in_user_ns && !h.unified)) {
      std::string data = h.unified ? "" : absl::StrJoin(h.controllers, ",");
      if (!h.unified && data.rfind("name=", 0) == 0) data = "none," + data;
      rc = ::mount(h.unified ? "cgroup2" : "cgroup", FdPath(sub.get()).c_str(),
                   h.unified ? "cgroup2" : "cgroup", flags, data.empty() ? nullptr : data.c_str());
    } else if (i >= ctx.cgroup_dirs.size()) {
      continue;  // rootless without cgroups: leave the directory empty
    } else {
      UniqueFd tree(
          ::open_tree(AT_FDCWD, ctx.cgroup_dirs[i].c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
      rc = tree ? SetMountAttr(tree.get(), false, MountAttrFromFlags(flags), 0) : -1;
      if (rc == 0) {
        rc = ::move_mount(tree.get(), "", sub.get(), "",
                          MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
      }
    }
    if (rc != 0) return ErrnoError(absl::StrCat(where, ": mount cgroup hierarchy ", name));
  }
  if ((flags & MS_RDONLY) && SetMountAttr(tmpfs_dir.get(), false, MOUNT_ATTR_RDONLY, 0) != 0) {
    return ErrnoError(absl::StrCat(where, ": make cgroup tmpfs read-only"));
  }
  return absl::OkStatus();
}

// The mount that contains `path`: the longest mount point that prefixes it.
absl::Status MakeParentMountPrivate(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  std::string best;
  bool shared = false;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() < 7) continue;
    absl::string_view mp = f[4];
    bool prefix = mp == "/" || path == mp || absl::StartsWith(path, absl::StrCat(mp, "/"));
    if (!prefix || mp.size() < best.size()) continue;
    best = std::string(mp);
    shared = false;
    for (size_t i = 6; i < f.size() && f[i] != "-"; ++i)
      shared |= absl::StartsWith(f[i], "shared:");
  }
  if (shared && ::mount(nullptr, best.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return ErrnoError(absl::StrCat("make the mount ", best, " holding the rootfs private"));
  }
  return absl::OkStatus();
}

// CVE-2019-19921, CVE-2023-27561: an image whose /proc or /sys (or a path
// under them) is a symlink would move procfs/sysfs somewhere the masking
// and the runtime's later /proc writes do not expect. runc refuses; so do we.
absl::Status RefuseSymlinkedProcfs(const spec::Mount& m, const MountContext& ctx,
                                   absl::string_view where) {
  if (m.type != "proc" && m.type != "sysfs") return absl::OkStatus();
  auto resolved = OpenInRootNoSymlinks(ctx.rootfd, m.destination);
  if (resolved.ok() || !absl::IsInvalidArgument(resolved.status())) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(where, ": the destination of a ", m.type,
                                                 " mount must not be (or pass through) a symlink"));
}

}  // namespace

absl::Status PrepareRootfs(const std::string& rootfs, const std::string& propagation) {
  unsigned long prop = propagation.empty() ? (MS_SLAVE | MS_REC) : PropagationFlag(propagation);
  // The host side must never see our mounts: start from a slave (or the
  // requested) copy of the host's mount tree.
  if (::mount(nullptr, "/", nullptr, prop | MS_REC, nullptr) != 0) {
    return ErrnoError("make / a slave mount in the container's mount namespace");
  }
  // pivot_root refuses a new root whose parent mount is shared, which a
  // "shared"/"rshared" rootfsPropagation makes it; make just that mount
  // private (our copy of it), and share "/" again after pivot_root. With
  // any other propagation no mount is shared now: mountinfo, long on a
  // busy host, need not be read.
  if (prop & MS_SHARED) BERTH_RETURN_IF_ERROR(MakeParentMountPrivate(rootfs));
  if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (errno == EACCES) {
      return ErrnoError(absl::StrCat(
          "bind mount rootfs ", rootfs,
          " (in a user namespace, every directory above the rootfs must be searchable by the "
          "container's mapped root user)"));
    }
    return ErrnoError(absl::StrCat("bind mount rootfs ", rootfs));
  }
  return absl::OkStatus();
}

absl::Status ApplyRootPropagation(const std::string& propagation) {
  if (propagation.empty()) return absl::OkStatus();
  if (::mount(nullptr, "/", nullptr, PropagationFlag(propagation), nullptr) != 0) {
    return ErrnoError(absl::StrCat("set rootfsPropagation ", propagation));
  }
  return absl::OkStatus();
}

absl::Status MountEntry(const spec::Mount& m, size_t index, const MountContext& ctx) {
  std::string where = Where(m, index);
  MountOptions opts = ParseMountOptions(m.options);
  if (opts.idmap || opts.recursive_idmap) {
    return absl::UnimplementedError(absl::StrCat(where, ": idmapped mounts are not supported yet"));
  }
  if (opts.is_bind() || m.type == "bind") {
    if (!opts.is_bind()) opts.flags |= MS_BIND;
    return BindMount(m, opts, ctx, where);
  }
  BERTH_RETURN_IF_ERROR(RefuseSymlinkedProcfs(m, ctx, where));
  BERTH_ASSIGN_OR_RETURN(UniqueFd target,
                         CreateInRoot(ctx.rootfd, m.destination, TargetKind::kDirectory));
  if (m.type == "cgroup" || m.type == "cgroup2") {
    BERTH_RETURN_IF_ERROR(MountCgroupTree(m, opts, ctx, target.get(), where));
  } else {
    UniqueFd original;  // the directory under the new mount, for tmpcopyup
    if (opts.tmpcopyup) {
      BERTH_ASSIGN_OR_RETURN(original,
                             OpenInRoot(ctx.rootfd, m.destination, O_RDONLY | O_DIRECTORY));
    }
    std::string source = m.source.empty() ? m.type : m.source;
    BERTH_RETURN_IF_ERROR(MountFilesystem(source, m.type, opts, target.get(), where));
    if (opts.tmpcopyup) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd mounted,
                             OpenInRoot(ctx.rootfd, m.destination, O_RDONLY | O_DIRECTORY));
      BERTH_RETURN_IF_ERROR(
          Annotate(CopyTree(original.get(), mounted.get()), absl::StrCat(where, ": tmpcopyup")));
    }
  }
  // Propagation and recursive attributes act on the new mount, which a
  // fresh lookup of the destination now reaches (most mounts have neither).
  if (opts.propagation.empty() && opts.rec_attr_set == 0 && opts.rec_attr_clr == 0) {
    return absl::OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd mounted, OpenInRoot(ctx.rootfd, m.destination, O_PATH));
  BERTH_RETURN_IF_ERROR(ApplyRecursiveAttrs(mounted.get(), opts, where));
  return ApplyPropagation(mounted.get(), opts, where);
}

}  // namespace berth::linux_ns
