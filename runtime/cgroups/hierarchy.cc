#include "runtime/cgroups/hierarchy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::cgroups {
namespace {

// /proc/self/cgroup lines: "ID:controllers:path"; v2 has ID 0 and no controllers.
std::string OwnPath(absl::string_view proc_cgroup, const Hierarchy& h) {
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (h.unified) {
      if (f[0] == "0" && f[1].empty()) return std::string(f[2]);
      continue;
    }
    std::vector<absl::string_view> ctrls = absl::StrSplit(f[1], ',');
    for (const std::string& c : h.controllers) {
      if (std::find(ctrls.begin(), ctrls.end(), c) != ctrls.end()) return std::string(f[2]);
    }
  }
  return "/";
}

// A hierarchy mounted from a subdirectory (a container's bind mount of its
// own cgroup, mountinfo root /docker/ID) shows /proc/self/cgroup's path
// below that root: make the path relative to the mount, as runc does.
std::string RelativeToMountRoot(const std::string& own, absl::string_view root) {
  if (root.empty() || root == "/") return own;
  if (own == root) return "/";
  if (absl::StartsWith(own, root) && own[root.size()] == '/') return own.substr(root.size());
  return own;
}

}  // namespace

std::vector<Hierarchy> ParseHierarchies(absl::string_view mountinfo,
                                        absl::string_view proc_cgroup) {
  std::vector<Hierarchy> out;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    absl::string_view fstype = dash[1];
    absl::string_view mountpoint = f[4];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    // Under /sys/fs/cgroup, not merely sharing the prefix (/sys/fs/cgroup2).
    if (mountpoint != "/sys/fs/cgroup" && !absl::StartsWith(mountpoint, "/sys/fs/cgroup/")) {
      continue;
    }
    Hierarchy h;
    h.mountpoint = std::string(mountpoint);
    h.unified = fstype == "cgroup2";
    if (!h.unified) {
      for (absl::string_view opt : absl::StrSplit(dash[3], ',')) {
        if (opt == "rw" || opt == "ro" || absl::StartsWith(opt, "release_agent") ||
            opt == "clone_children" || opt == "noprefix" || opt == "xattr" ||
            opt == "cpuset_v2_mode" || opt == "favordynmods") {
          continue;
        }
        h.controllers.emplace_back(opt);
      }
      if (h.controllers.empty()) continue;
    }
    // A hierarchy can be mounted twice; keep the first mount of each.
    bool dup = std::any_of(out.begin(), out.end(), [&](const Hierarchy& o) {
      return o.unified == h.unified && o.controllers == h.controllers;
    });
    if (dup) continue;
    h.own_path = RelativeToMountRoot(OwnPath(proc_cgroup, h), f[3]);
    out.push_back(std::move(h));
  }
  return out;
}

Mode ModeOfHierarchies(const std::vector<Hierarchy>& hierarchies) {
  bool hybrid = false;
  for (const Hierarchy& h : hierarchies) {
    if (!h.unified) continue;
    if (h.mountpoint == "/sys/fs/cgroup") return Mode::kV2;
    hybrid |= h.mountpoint == "/sys/fs/cgroup/unified";
  }
  return hybrid ? Mode::kHybrid : Mode::kV1;
}

absl::StatusOr<std::vector<Hierarchy>> DetectHierarchies() {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  BERTH_ASSIGN_OR_RETURN(std::string proc_cgroup, ReadFile("/proc/self/cgroup"));
  return ParseHierarchies(mountinfo, proc_cgroup);
}

}  // namespace berth::cgroups
