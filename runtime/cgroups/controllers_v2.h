// cgroup2 controllers: a controller's files appear in a cgroup only when
// every ancestor enables it in cgroup.subtree_control. As runc does, berth
// enables what the container needs from the root down, also in parents it
// did not create (only "+" writes: nothing is ever disabled).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/cgroups/render.h"
#include "runtime/cgroups/write_files.h"

namespace berth::cgroups {

// The controller each write needs ("memory.max" → memory), with the config
// field of its first write; core files (cgroup.*) and optional writes
// need none.
std::map<std::string, std::string> ControllersOfWrites(const std::vector<FileWrite>& writes);

// Why a controller could not be enabled: "enable it in DIR/cgroup.subtree_control: ERRNO".
using EnableFailures = std::map<std::string, std::string>;

// Enables `wanted` in every ancestor of `dir` (the directories above it
// that are cgroups, root first; not `dir` itself, which holds the
// container's processes): all missing ones in one write, and one by one
// when the kernel refuses that (one unavailable controller must not keep
// the others off). Returns what failed, for CheckControllersV2.
EnableFailures EnableControllersV2(const std::string& dir, const std::set<std::string>& wanted);
// The same, each write made by `write` (unit tests refuse some, as a kernel
// does for a controller that cannot be enabled there).
EnableFailures EnableControllersV2(const std::string& dir, const std::set<std::string>& wanted,
                                   const FileWriter& write);

// OK when `dir`/cgroup.controllers lists every controller of `needed`
// (controller → config field); else an error naming the field, the
// controller and what is really missing: the kernel lacks it, or an
// ancestor did not enable it (and why).
absl::Status CheckControllersV2(const std::string& dir,
                                const std::map<std::string, std::string>& needed,
                                const EnableFailures& failures);

}  // namespace berth::cgroups
