#include "runtime/linux/namespaces.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::linux_ns {

int CloneFlag(spec::NamespaceType t) {
  switch (t) {
    case spec::NamespaceType::kPid:
      return CLONE_NEWPID;
    case spec::NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case spec::NamespaceType::kMount:
      return CLONE_NEWNS;
    case spec::NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case spec::NamespaceType::kUts:
      return CLONE_NEWUTS;
    case spec::NamespaceType::kUser:
      return CLONE_NEWUSER;
    case spec::NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case spec::NamespaceType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

absl::StatusOr<std::vector<NamespaceToJoin>> OpenNamespacesToJoin(const spec::Spec& spec) {
  std::vector<NamespaceToJoin> out;
  for (size_t i = 0; i < spec.linux_cfg.namespaces.size(); ++i) {
    const spec::Namespace& ns = spec.linux_cfg.namespaces[i];
    if (ns.path.empty()) continue;
    std::string where = absl::StrCat("linux.namespaces[", i, "].path");
    UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoError(absl::StrCat(where, ": open ", ns.path));
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", ns.path, " is not a namespace"));
    }
    if (type != CloneFlag(ns.type)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", ns.path, " is not a ", spec::NamespaceTypeName(ns.type), " namespace"));
    }
    out.push_back({ns.type, std::move(fd)});
  }
  return out;
}

int NewNamespaceCloneFlags(const spec::Spec& spec) {
  int flags = 0;
  for (const spec::Namespace& ns : spec.linux_cfg.namespaces) {
    // cgroup: after joining the cgroup; time: after writing its offsets.
    if (!ns.path.empty() || ns.type == spec::NamespaceType::kCgroup ||
        ns.type == spec::NamespaceType::kTime) {
      continue;
    }
    flags |= CloneFlag(ns.type);
  }
  return flags;
}

absl::Status Join(const NamespaceToJoin& ns) {
  if (::setns(ns.fd.get(), CloneFlag(ns.type)) != 0) {
    return ErrnoError(absl::StrCat("join ", spec::NamespaceTypeName(ns.type), " namespace"));
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
