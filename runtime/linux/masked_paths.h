#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace berth::linux_ns {

// maskedPaths: a directory gets an empty read-only tmpfs, anything else the
// container's /dev/null, verified to be the real char device 1:3 first (an
// image could have replaced it). Missing paths are skipped. After pivot_root.
absl::Status MaskPaths(const std::vector<std::string>& paths);

// readonlyPaths: bind each path onto itself read-only (with its submounts).
absl::Status MakePathsReadonly(const std::vector<std::string>& paths);

}  // namespace berth::linux_ns
