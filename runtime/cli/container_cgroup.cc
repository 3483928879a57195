#include "runtime/cli/container_cgroup.h"

#include "absl/strings/str_cat.h"

namespace berth::cli {

absl::Status NotRunningError() { return absl::FailedPreconditionError("container not running"); }

absl::StatusOr<ContainerCgroup> OpenContainerCgroup(const GlobalOptions& g, const std::string& id,
                                                    bool lock) {
  auto dir = lock ? state::StateDir::Open(g.root, id) : state::StateDir::OpenUnlocked(g.root, id);
  if (!dir.ok()) return dir.status();
  auto s = dir->ReadState();
  if (!s.ok()) return absl::IsNotFound(s.status()) ? NotRunningError() : s.status();
  if (s->cgroup_paths.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id,
                     " has no recorded cgroup (created without cgroups or by an older berth)"));
  }
  state::Status status = state::ComputeStatus(*dir, *s);
  std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(*s);
  return ContainerCgroup{*std::move(dir), *std::move(s), status, std::move(cgroup)};
}

}  // namespace berth::cli
