#include "runtime/cgroups/manager.h"

#include <signal.h>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/cgroups/freezer.h"
#include "runtime/cgroups/systemd_manager.h"
#include "runtime/cgroups/systemd_unit_name.h"

namespace berth::cgroups {

absl::Status Manager::Join(pid_t pid) {
  std::string pid_text = absl::StrCat(pid);
  for (const CgroupDir& d : placement_.dirs) {
    BERTH_RETURN_IF_ERROR(WriteExisting(absl::StrCat(d.path, "/cgroup.procs"), pid_text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<pid_t>> Manager::Pids() const { return ListPids(placement_.Paths()); }

void Manager::KillAndThawAll() const {
  if (auto pids = Pids(); pids.ok()) {
    for (pid_t p : *pids) ::kill(p, SIGKILL);
  }
  for (const CgroupDir& d : placement_.dirs) {
    std::vector<std::string> tree = CgroupTree(d.path);
    if (d.hierarchy.unified) {
      WriteExisting(absl::StrCat(d.path, "/cgroup.kill"), "1").IgnoreError();  // 5.14+
      ThawAllV2(tree);
    } else if (absl::c_linear_search(d.hierarchy.controllers, "freezer")) {
      ThawAllV1(tree);
    }
  }
}

absl::Status Manager::Destroy() const { return RemoveCreated(placement_.created_dirs); }

namespace {

std::unique_ptr<Manager> NewManager(Placement p) {
  switch (p.mode) {
    case Mode::kV2:
      return NewV2Manager(std::move(p));
    case Mode::kHybrid:
      return NewHybridManager(std::move(p));
    case Mode::kV1:
      break;
  }
  return NewV1Manager(std::move(p));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Manager>> CreateManager(const std::vector<Hierarchy>& hierarchies,
                                                       const std::string& cgroups_path,
                                                       const std::string& id, Driver driver,
                                                       const spec::Resources* resources) {
  if (driver != Driver::kCgroupfs) {
    return CreateSystemdManager(hierarchies, cgroups_path, id, driver == Driver::kSystemdUser,
                                resources);
  }
  if (LooksLikeSystemdCgroupsPath(cgroups_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linux.cgroupsPath: \"", cgroups_path,
        "\" has the systemd form slice:prefix:name, which needs --systemd-cgroup; without it "
        "cgroupsPath is a cgroup path (e.g. /docker/ID)"));
  }
  BERTH_ASSIGN_OR_RETURN(
      Placement p, CreatePlacement(ModeOfHierarchies(hierarchies), hierarchies, cgroups_path, id));
  return NewManager(std::move(p));
}

std::unique_ptr<Manager> LoadManager(absl::string_view mode,
                                     const std::map<std::string, std::string>& paths_by_key,
                                     const std::vector<std::string>& created_dirs,
                                     const std::string& systemd_unit, bool systemd_user) {
  std::optional<Mode> m = ParseModeName(mode);
  if (!m) m = DetectMode().value_or(Mode::kV1);
  Placement p = LoadPlacement(*m, paths_by_key, created_dirs);
  if (!systemd_unit.empty()) return LoadSystemdManager(std::move(p), systemd_unit, systemd_user);
  return NewManager(std::move(p));
}

}  // namespace berth::cgroups
