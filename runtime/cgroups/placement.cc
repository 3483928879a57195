#include "runtime/cgroups/placement.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::cgroups {
namespace {

constexpr char kUnifiedKey[] = "unified";

bool HasController(const Hierarchy& h, absl::string_view controller) {
  return std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end();
}

// A fresh v1 cpuset cgroup has empty cpus/mems and refuses tasks until they
// are filled in; inherit the parent's values.
absl::Status InheritCpuset(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    auto mine = ReadFile(absl::StrCat(dir, "/", file));
    if (mine.ok() && !absl::StripAsciiWhitespace(*mine).empty()) continue;
    BERTH_ASSIGN_OR_RETURN(std::string value, ReadFile(absl::StrCat(parent, "/", file)));
    BERTH_RETURN_IF_ERROR(WriteExisting(absl::StrCat(dir, "/", file), value));
  }
  return absl::OkStatus();
}

std::string CleanPath(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

// mkdir -p of `rel` below the hierarchy's mountpoint, recording new dirs.
// An existing container cgroup with processes in it belongs to someone
// else (another container with the same cgroupsPath, or a leftover still
// running): refused rather than joined and overwritten.
absl::StatusOr<std::string> MakeDirs(const Hierarchy& h, const std::string& rel,
                                     std::vector<std::string>* created) {
  std::string dir = h.mountpoint;
  bool made = false;
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    absl::StrAppend(&dir, "/", part);
    made = ::mkdir(dir.c_str(), 0755) == 0;
    if (made) {
      created->push_back(dir);
    } else if (errno != EEXIST) {
      return ErrnoError(absl::StrCat("create cgroup ", dir));
    }
    // Only in directories berth made: an existing one is not ours to write.
    if (made && !h.unified && HasController(h, "cpuset")) {
      BERTH_RETURN_IF_ERROR(Annotate(InheritCpuset(dir), "cgroup cpuset"));
    }
  }
  if (!made) {
    auto procs = ReadFile(absl::StrCat(dir, "/cgroup.procs"));
    if (procs.ok() && !absl::StripAsciiWhitespace(*procs).empty()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "cgroup ", dir, " already exists and has processes in it (linux.cgroupsPath)"));
    }
  }
  return dir;
}

// Every cgroup directory at and below `dir`, children before their parents
// (a container may make cgroups of its own inside its cgroup).
void CollectTree(const std::string& dir, std::vector<std::string>* out) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') {
        CollectTree(absl::StrCat(dir, "/", e->d_name), out);
      }
    }
    ::closedir(d);
  }
  out->push_back(dir);
}

}  // namespace

std::string CgroupDir::Key() const {
  return hierarchy.unified ? kUnifiedKey : absl::StrJoin(hierarchy.controllers, ",");
}

std::vector<std::string> Placement::Paths() const {
  std::vector<std::string> out;
  for (const CgroupDir& d : dirs) out.push_back(d.path);
  return out;
}

std::vector<Hierarchy> Placement::Hierarchies() const {
  std::vector<Hierarchy> out;
  for (const CgroupDir& d : dirs) out.push_back(d.hierarchy);
  return out;
}

std::map<std::string, std::string> Placement::PathsByKey() const {
  std::map<std::string, std::string> out;
  for (const CgroupDir& d : dirs) out[d.Key()] = d.path;
  return out;
}

const CgroupDir* Placement::FindController(absl::string_view controller) const {
  for (const CgroupDir& d : dirs) {
    if (!d.hierarchy.unified && HasController(d.hierarchy, controller)) return &d;
  }
  return nullptr;
}

const CgroupDir* Placement::Unified() const {
  for (const CgroupDir& d : dirs) {
    if (d.hierarchy.unified) return &d;
  }
  return nullptr;
}

std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& id,
                              const Hierarchy& h) {
  if (cgroups_path.empty()) return CleanPath(absl::StrCat("/", id));
  if (cgroups_path[0] == '/') return CleanPath(cgroups_path);
  return CleanPath(absl::StrCat(h.own_path, "/", cgroups_path));
}

std::vector<Hierarchy> HierarchiesForMode(const std::vector<Hierarchy>& all, Mode mode) {
  std::vector<Hierarchy> out;
  for (const Hierarchy& h : all) {
    bool wanted = mode == Mode::kHybrid || (mode == Mode::kV2) == h.unified;
    if (wanted) out.push_back(h);
  }
  return out;
}

absl::StatusOr<Placement> CreatePlacement(Mode mode, const std::vector<Hierarchy>& hierarchies,
                                          const std::string& cgroups_path, const std::string& id) {
  Placement p;
  p.mode = mode;
  for (const Hierarchy& h : HierarchiesForMode(hierarchies, mode)) {
    auto dir = MakeDirs(h, ResolveCgroupPath(cgroups_path, id, h), &p.created_dirs);
    if (!dir.ok()) {
      RemoveCreated(p.created_dirs).IgnoreError();
      return dir.status();
    }
    p.dirs.push_back({h, *dir});
  }
  return p;
}

Placement LoadPlacement(Mode mode, const std::map<std::string, std::string>& paths_by_key,
                        const std::vector<std::string>& created_dirs) {
  Placement p;
  p.mode = mode;
  p.created_dirs = created_dirs;
  for (const auto& [key, path] : paths_by_key) {
    CgroupDir d;
    d.path = path;
    d.hierarchy.unified = key == kUnifiedKey;
    if (!d.hierarchy.unified) d.hierarchy.controllers = absl::StrSplit(key, ',');
    p.dirs.push_back(std::move(d));
  }
  return p;
}

std::vector<std::string> CgroupTree(const std::string& dir) {
  std::vector<std::string> out;
  CollectTree(dir, &out);
  return out;
}

absl::StatusOr<std::vector<pid_t>> ListPids(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return absl::FailedPreconditionError("container has no cgroup");
  absl::Status last;
  for (const std::string& dir : dirs) {
    auto text = ReadFile(absl::StrCat(dir, "/cgroup.procs"));
    if (!text.ok()) {
      last = text.status();
      continue;
    }
    // The container's own sub-cgroups hold its processes too.
    std::vector<std::string> tree;
    CollectTree(dir, &tree);
    tree.pop_back();  // dir itself, read above
    for (const std::string& sub : tree) {
      if (auto more = ReadFile(absl::StrCat(sub, "/cgroup.procs")); more.ok()) {
        absl::StrAppend(&*text, "\n", *more);
      }
    }
    std::vector<pid_t> pids;
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
      pid_t pid;
      if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
    }
    return pids;
  }
  return last;
}

absl::Status RemoveCreated(const std::vector<std::string>& created_dirs) {
  absl::Status result;
  for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) {
    // A parent berth created (e.g. /sys/fs/cgroup/pids/<namespace> for
    // cgroupsPath /<namespace>/<id>) may hold other containers by now: try
    // once, and leave it to the last one out.
    bool parent = absl::c_any_of(created_dirs, [&](const std::string& d) {
      return absl::StartsWith(d, absl::StrCat(*it, "/"));
    });
    // The container's own cgroup, with whatever sub-cgroups it made inside.
    std::vector<std::string> tree;
    if (parent) {
      tree.push_back(*it);
    } else {
      CollectTree(*it, &tree);
    }
    for (const std::string& dir : tree) {
      // rmdir fails with EBUSY until the last task has left; that takes a
      // few milliseconds after a SIGKILL'd process is reaped.
      for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
        if (parent && (errno == EBUSY || errno == ENOTEMPTY)) break;
        if (errno != EBUSY || attempt >= 200) {
          result.Update(ErrnoError(absl::StrCat("remove cgroup ", dir)));
          break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        ::nanosleep(&ts, nullptr);
      }
    }
  }
  return result;
}

}  // namespace berth::cgroups
