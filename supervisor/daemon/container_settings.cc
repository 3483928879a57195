#include "supervisor/daemon/container_settings.h"

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::supervisor {
namespace {

absl::Status ValidateRestart(const v1::RestartPolicy& r) {
  const std::string& name = r.name();
  if (name != "" && name != "no" && name != "on-failure" && name != "always" &&
      name != "unless-stopped") {
    return absl::InvalidArgumentError(absl::StrCat(
        "settings.restart.name: \"", name, "\" is not a restart policy (no, on-failure[:N], ",
        "always, unless-stopped)"));
  }
  if (r.max_retries() < 0) {
    return absl::InvalidArgumentError("settings.restart.max_retries must not be negative");
  }
  if (r.max_retries() != 0 && name != "on-failure") {
    return absl::InvalidArgumentError(absl::StrCat(
        "settings.restart.max_retries: a maximum retry count only goes with on-failure, not \"",
        name, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSettings(const v1::ContainerSettings& s) {
  BERTH_RETURN_IF_ERROR(ValidateRestart(s.restart()));
  if (s.stop_timeout() < 0) {
    return absl::InvalidArgumentError("settings.stop_timeout must not be negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ContainerSettings> ParseSettings(const std::string& serialized) {
  v1::ContainerSettings s;
  if (!s.ParseFromString(serialized)) {
    return absl::DataLossError("a container's stored settings do not parse");
  }
  return s;
}

}  // namespace berth::supervisor
