#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::container {

// "KILL", "SIGKILL", "kill", "9" → 9. Real-time: "RTMIN+3", "SIGRTMAX-1".
absl::StatusOr<int> ParseSignal(absl::string_view text);

}  // namespace berth::container
