// Places a container in its cgroup on every mounted hierarchy and removes
// exactly the directories it created (never a cgroup berth did not make).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/cgroups/hierarchy.h"

namespace berth::cgroups {

struct Placement {
  std::vector<std::string> dirs;          // the container's cgroup in each hierarchy
  std::vector<std::string> created_dirs;  // directories mkdir'ed by us, outermost first
};

// cgroupsPath → path inside each hierarchy: absolute paths are taken from the
// hierarchy root; relative ones from this process's own cgroup (as runc);
// empty means "/<id>".
std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& id,
                              const Hierarchy& h);

// Creates the container's cgroup directories. On error, removes what it made.
absl::StatusOr<Placement> CreatePlacement(const std::vector<Hierarchy>& hierarchies,
                                          const std::string& cgroups_path, const std::string& id);

// Moves pid into every directory of the placement.
absl::Status AddProcess(const Placement& p, pid_t pid);

// Pids in the container's cgroup (from the first hierarchy that has it).
absl::StatusOr<std::vector<pid_t>> ListPids(const std::vector<std::string>& dirs);

// Removes created_dirs innermost first, retrying briefly while the last
// processes exit. Missing directories are fine.
absl::Status RemoveCreated(const std::vector<std::string>& created_dirs);

}  // namespace berth::cgroups
