// linux.sysctl: only keys that belong to a namespace the container owns are
// accepted (as runc): net.* with a new network namespace, the IPC keys with
// a new IPC namespace, kernel.hostname/domainname with a new UTS namespace.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

absl::Status ValidateSysctl(const spec::Spec& s);

// Writes them through the container's /proc (after pivot_root), each file
// verified to be on procfs.
absl::Status ApplySysctl(const std::map<std::string, std::string>& sysctl);

}  // namespace berth::linux_ns
