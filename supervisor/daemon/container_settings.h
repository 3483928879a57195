// A container's settings (berth.v1.ContainerSettings: log, restart policy,
// network, mounts, health check): checked when the container is created,
// kept serialized in its record, read back at every start of its task.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "berth/v1/containers.pb.h"

namespace berth::supervisor {

// Every field checked; errors name the field ("settings.restart.name: ...").
absl::Status ValidateSettings(const v1::ContainerSettings& s);

// The settings a record holds ("" : every default).
absl::StatusOr<v1::ContainerSettings> ParseSettings(const std::string& serialized);

}  // namespace berth::supervisor
