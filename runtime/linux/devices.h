// /dev inside the container: the default devices every container gets
// (runtime-spec config-linux.md "Default Devices"), linux.devices, and the
// standard symlinks. Done before pivot_root, through the rootfs fd.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/unique_fd.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// The six default devices plus tty, then linux.devices (which may override
// them). Where mknod is refused (EPERM: user namespace), the host's node is
// bind-mounted instead, or for linux.devices the node StageDevices made
// (staged_fd, when >= 0).
absl::Status CreateDevices(int rootfd, const std::vector<spec::Device>& devices, bool with_defaults,
                           int staged_fd = -1);

// In the runtime's namespaces, before the init enters a new user namespace
// (where mknod is refused and nodes on a file system mounted there cannot
// be opened), as crun does: every linux.devices node is made in a detached
// tmpfs of the host's (fsopen/fsmount: it is in no mount table), owned by
// the host ids the container's maps give its uid/gid, with its mode.
// Returns the mount's fd (named by entry index) for CreateDevices.
absl::StatusOr<UniqueFd> StageDevices(const std::vector<spec::Device>& devices,
                                      const std::vector<spec::IdMapping>& uid_mappings,
                                      const std::vector<spec::IdMapping>& gid_mappings);

// /dev/fd, /dev/std{in,out,err}, /dev/ptmx → pts/ptmx, /dev/core.
absl::Status CreateDevSymlinks(int rootfd);

// An empty /dev/console file to bind the terminal onto later.
absl::Status CreateConsoleMountpoint(int rootfd);

}  // namespace berth::linux_ns
