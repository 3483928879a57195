// Turns the runtime's `events --stats` JSON (runc's format) into the cgroup
// metrics message `ctr task metrics` and the CRI decode: v1 on hosts with
// v1 or hybrid cgroups, v2 on unified hosts, as containerd's own shim does.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "berth_pb.pb.h"

namespace berth::shim {

// Any{type_url: "io.containerd.cgroups.v1.Metrics" or ".v2.Metrics"}.
absl::StatusOr<berth::pb::Any> MetricsFromStatsJson(absl::string_view json, bool unified);

// True when /sys/fs/cgroup is a cgroup2 mount.
bool UnifiedCgroupHost();

}  // namespace berth::shim
