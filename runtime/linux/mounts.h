// The container's mount table: the rootfs made a mount point, then every
// entry of config.json `mounts`, in order, inside the rootfs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/cgroups/hierarchy.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

struct MountContext {
  int rootfd = -1;     // O_PATH fd of the rootfs (after PrepareRootfs)
  std::string bundle;  // relative bind sources are relative to it
  std::vector<cgroups::Hierarchy> hierarchies;
  std::vector<std::string> cgroup_dirs;  // the container's cgroup, same order
  bool new_cgroup_ns = false;
  // In a user namespace v1 cgroup hierarchies cannot be mounted, only bound.
  bool in_user_ns = false;
};

// Makes the host's mounts slave (or `propagation`) in our namespace, so
// nothing we mount leaks back, and bind-mounts the rootfs onto itself.
absl::Status PrepareRootfs(const std::string& rootfs, const std::string& propagation);

// Mounts mounts[i] inside the rootfs; errors name "mounts[i] (DEST)".
absl::Status MountEntry(const spec::Mount& m, size_t index, const MountContext& ctx);

// Propagation for "/" after pivot_root when rootfsPropagation asks for it.
absl::Status ApplyRootPropagation(const std::string& propagation);

}  // namespace berth::linux_ns
