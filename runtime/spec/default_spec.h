#pragma once

#include <string>

namespace berth::spec {

// The config.json that `berth spec` writes: the same defaults as `runc spec`
// (sh as the process, terminal on, readonly root "rootfs", the standard mounts,
// masked and read-only paths, namespaces pid/network/ipc/uts/mount/cgroup).
// `rootless` adds a user namespace with the caller's uid/gid mapped to 0 and
// drops what an unprivileged user cannot set up, like `runc spec --rootless`.
std::string DefaultSpecJson(bool rootless, unsigned host_uid, unsigned host_gid);

}  // namespace berth::spec
