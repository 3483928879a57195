// /dev inside the container: the default devices every container gets
// (runtime-spec config-linux.md "Default Devices"), linux.devices, and the
// standard symlinks. Done before pivot_root, through the rootfs fd.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// The six default devices plus tty, then linux.devices (which may override
// them). Where mknod is refused (EPERM: user namespace), the host's node is
// bind-mounted instead.
absl::Status CreateDevices(int rootfd, const std::vector<spec::Device>& devices,
                           bool with_defaults);

// /dev/fd, /dev/std{in,out,err}, /dev/ptmx → pts/ptmx, /dev/core.
absl::Status CreateDevSymlinks(int rootfd);

// An empty /dev/console file to bind the terminal onto later.
absl::Status CreateConsoleMountpoint(int rootfd);

}  // namespace berth::linux_ns
