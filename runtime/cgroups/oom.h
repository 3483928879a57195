// OOM notifications: v1 registers an eventfd for memory.oom_control through
// cgroup.event_control; cgroup2 watches memory.events with inotify and
// counts "oom_kill".
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/cgroups/manager.h"

namespace berth::cgroups {

absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOomV1(const std::string& memory_dir);
absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOomV2(const std::string& dir);

}  // namespace berth::cgroups
