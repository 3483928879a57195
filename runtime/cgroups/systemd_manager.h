// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is
// a transient scope that systemd creates (StartTransientUnit with
// Delegate=yes and the init's pid), in the slice linux.cgroupsPath names.
// The limits are set twice, as runc does: as unit properties where systemd
// has them (so systemd keeps them), and in the cgroup files by the
// cgroupfs back end of the host's mode, which also does everything else
// (freezer, stats, OOM, devices). delete stops the scope.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/cgroups/manager.h"

namespace berth::cgroups {

// Connects to systemd (the user's instance when `user`), works out the
// scope's name and cgroup, and checks no such unit is active. The unit is
// started by Join, once the init's pid is known. `resources` may be null.
absl::StatusOr<std::unique_ptr<Manager>> CreateSystemdManager(
    const std::vector<Hierarchy>& hierarchies, const std::string& cgroups_path,
    const std::string& id, bool user, const spec::Resources* resources);

// The manager of a container whose scope is running (from state.json).
std::unique_ptr<Manager> LoadSystemdManager(Placement p, const std::string& unit, bool user);

}  // namespace berth::cgroups
