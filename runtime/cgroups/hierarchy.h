// The cgroup hierarchies mounted on this host, read from /proc/self/mountinfo.
// Works for v1, v2 (unified) and hybrid hosts alike: a hybrid host simply
// has both kinds of mounts and the container is placed in all of them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

}  // namespace berth::cgroups
