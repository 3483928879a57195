// The cgroup hierarchies mounted on this host, read from /proc/self/mountinfo.
// Works for v1, v2 (unified) and hybrid hosts alike: a hybrid host simply
// has both kinds of mounts and the container is placed in all of them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cgroups/mode.h"

namespace berth::cgroups {

struct Hierarchy {
  std::string mountpoint;                // /sys/fs/cgroup/memory, /sys/fs/cgroup/unified, ...
  bool unified = false;                  // cgroup2
  std::vector<std::string> controllers;  // v1: "memory", "name=systemd", ...; v2: empty
  std::string own_path;                  // this process's cgroup in it (from /proc/self/cgroup)
};

// Parses mountinfo and /proc/self/cgroup text (pure; unit-tested).
std::vector<Hierarchy> ParseHierarchies(absl::string_view mountinfo, absl::string_view proc_cgroup);

// Hierarchies mounted under /sys/fs/cgroup for the calling process.
absl::StatusOr<std::vector<Hierarchy>> DetectHierarchies();

// The layout DetectMode finds by statfs, from the hierarchies already read:
// cgroup2 at /sys/fs/cgroup is v2, cgroup2 at /sys/fs/cgroup/unified beside
// v1 hierarchies hybrid, anything else v1 (create reads the mounts once).
Mode ModeOfHierarchies(const std::vector<Hierarchy>& hierarchies);

}  // namespace berth::cgroups
