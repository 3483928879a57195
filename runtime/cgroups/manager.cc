#include "runtime/cgroups/manager.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::cgroups {
namespace {

bool IsCpuset(const Hierarchy& h) {
  return !h.unified &&
         std::find(h.controllers.begin(), h.controllers.end(), "cpuset") != h.controllers.end();
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

}  // namespace

std::string ResolveCgroupPath(const std::string& cgroups_path, const std::string& id,
                              const Hierarchy& h) {
  if (cgroups_path.empty()) return CleanPath(absl::StrCat("/", id));
  if (cgroups_path[0] == '/') return CleanPath(cgroups_path);
  return CleanPath(absl::StrCat(h.own_path, "/", cgroups_path));
}

absl::StatusOr<Placement> CreatePlacement(const std::vector<Hierarchy>& hierarchies,
                                          const std::string& cgroups_path, const std::string& id) {
  Placement p;
  for (const Hierarchy& h : hierarchies) {
    std::string rel = ResolveCgroupPath(cgroups_path, id, h);
    std::string dir = h.mountpoint;
    for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
      absl::StrAppend(&dir, "/", part);
      if (::mkdir(dir.c_str(), 0755) == 0) {
        p.created_dirs.push_back(dir);
      } else if (errno != EEXIST) {
        absl::Status st = ErrnoError(absl::StrCat("create cgroup ", dir));
        RemoveCreated(p.created_dirs).IgnoreError();
        return st;
      }
      if (IsCpuset(h)) {
        if (absl::Status st = InheritCpuset(dir); !st.ok()) {
          RemoveCreated(p.created_dirs).IgnoreError();
          return Annotate(st, "cgroup cpuset");
        }
      }
    }
    p.dirs.push_back(dir);
  }
  return p;
}

absl::Status AddProcess(const Placement& p, pid_t pid) {
  std::string pid_text = absl::StrCat(pid);
  for (const std::string& dir : p.dirs) {
    BERTH_RETURN_IF_ERROR(WriteExisting(absl::StrCat(dir, "/cgroup.procs"), pid_text));
  }
  return absl::OkStatus();
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
    // rmdir fails with EBUSY until the last task has left; that takes a few
    // milliseconds after a SIGKILL'd process is reaped.
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY || attempt >= 200) {
        result.Update(ErrnoError(absl::StrCat("remove cgroup ", *it)));
        break;
      }
      struct timespec ts = {0, 5 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
  }
  return result;
}

}  // namespace berth::cgroups
