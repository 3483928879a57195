// User namespaces: the uid/gid maps the parent writes for a freshly cloned
// init before anything else happens in it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// "containerID hostID size\n" per mapping, as /proc/PID/uid_map wants it.
std::string RenderIdMap(const std::vector<spec::IdMapping>& maps);

// Checks linux.uidMappings/gidMappings for a new user namespace.
absl::Status ValidateIdMappings(const spec::Spec& s);

// Writes the maps of `pid`'s new user namespace. An unprivileged runtime
// must deny setgroups first, or the kernel refuses the gid map.
absl::Status WriteIdMappings(pid_t pid, const std::vector<spec::IdMapping>& uids,
                             const std::vector<spec::IdMapping>& gids);

// True when setgroups(2) is denied in this user namespace.
bool SetgroupsDenied();

}  // namespace berth::linux_ns
