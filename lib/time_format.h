#pragma once

#include <string>

#include "absl/time/time.h"

namespace berth {

// RFC 3339 with nanoseconds, UTC, as Go's time.RFC3339Nano prints it
// (trailing zeros of the fraction dropped): what runc puts in state.created.
std::string FormatRfc3339Nano(absl::Time t);

}  // namespace berth
