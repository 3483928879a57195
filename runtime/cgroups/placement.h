// Where a container's cgroup lives: one directory per hierarchy in use, and
// the directories berth itself created (the only ones it ever removes).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cgroups/hierarchy.h"
#include "runtime/cgroups/mode.h"

namespace berth::cgroups {

// The container's directory in one hierarchy.
struct CgroupDir {
  Hierarchy hierarchy;  // after LoadPlacement only `unified` and `controllers` are known
  std::string path;     // /sys/fs/cgroup/memory/ID

  // state.json key: the hierarchy's controllers joined by "," (v1), or
  // "unified" for cgroup2.
  std::string Key() const;
};

struct Placement {
  Mode mode = Mode::kV1;
  std::vector<CgroupDir> dirs;
  std::vector<std::string> created_dirs;  // mkdir'ed by berth, outermost first

  std::vector<std::string> Paths() const;
  std::vector<Hierarchy> Hierarchies() const;
  // Key → path, as recorded in state.json.
  std::map<std::string, std::string> PathsByKey() const;
  // The directory of the v1 hierarchy carrying `controller`, or nullptr.
  const CgroupDir* FindController(absl::string_view controller) const;
  // The cgroup2 directory, or nullptr.
  const CgroupDir* Unified() const;
};

// cgroupsPath → path inside each hierarchy: absolute paths are taken from the
// hierarchy root; relative ones from this process's own cgroup (as runc);
// empty means "/<id>".
std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& id,
                              const Hierarchy& h);

// The hierarchies a back end uses: v2 only the cgroup2 one, v1 only the v1
// ones, hybrid both.
std::vector<Hierarchy> HierarchiesForMode(const std::vector<Hierarchy>& all, Mode mode);

// Creates the container's cgroup directories. On error, removes what it made.
absl::StatusOr<Placement> CreatePlacement(Mode mode, const std::vector<Hierarchy>& hierarchies,
                                          const std::string& cgroups_path, const std::string& id);

// Rebuilds a placement from state.json's record.
Placement LoadPlacement(Mode mode, const std::map<std::string, std::string>& paths_by_key,
                        const std::vector<std::string>& created_dirs);

// `dir` and every cgroup inside it, children before their parents.
std::vector<std::string> CgroupTree(const std::string& dir);

// Pids in the first directory that can be read.
absl::StatusOr<std::vector<pid_t>> ListPids(const std::vector<std::string>& dirs);

// Removes created_dirs innermost first, retrying briefly while the last
// processes exit. Missing directories are fine.
absl::Status RemoveCreated(const std::vector<std::string>& created_dirs);

}  // namespace berth::cgroups
