// What pause, resume, update, ps and events share: a container's state, its
// live status and its cgroup manager.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/cgroups/manager.h"
#include "runtime/cli/commands.h"
#include "runtime/state/state_dir.h"

namespace berth::cli {

struct ContainerCgroup {
  state::StateDir dir;
  state::ContainerState state;
  state::Status status;
  std::unique_ptr<cgroups::Manager> cgroup;
};

// Opens container `id` under --root (holding its lock when `lock`). A
// container whose create has not finished is "not running"; one without a
// recorded cgroup is an error naming why.
absl::StatusOr<ContainerCgroup> OpenContainerCgroup(const GlobalOptions& g, const std::string& id,
                                                    bool lock);

// "container not running" (a message callers match on).
absl::Status NotRunningError();

}  // namespace berth::cli
