#pragma once

#include "absl/status/status.h"

namespace berth::linux_ns {

// Brings "lo" up in the current (new) network namespace over rtnetlink, as
// runc does, so 127.0.0.1 works inside the container.
absl::Status BringUpLoopback();

}  // namespace berth::linux_ns
