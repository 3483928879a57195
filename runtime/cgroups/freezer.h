// Freezing a cgroup: v1's freezer.state (FROZEN/THAWED) and cgroup2's
// cgroup.freeze, confirmed by cgroup.events "frozen 1". Both wait until the
// kernel reports the new state, as `pause` and `resume` promise.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace berth::cgroups {

absl::Status SetFrozenV1(const std::string& freezer_dir, bool frozen);
bool IsFrozenV1(const std::string& freezer_dir);

absl::Status SetFrozenV2(const std::string& dir, bool frozen);
bool IsFrozenV2(const std::string& dir);

// Thaws `dirs` without waiting, whoever froze them (v1: freezer.state,
// cgroup2: cgroup.freeze; a directory without the file is skipped).
void ThawAllV1(const std::vector<std::string>& dirs);
void ThawAllV2(const std::vector<std::string>& dirs);

}  // namespace berth::cgroups
