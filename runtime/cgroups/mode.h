// Which cgroup layout the host uses, found by statfs(2) rather than by
// configuration: cgroup2 at the root is "unified" (v2); a tmpfs root with
// cgroup2 at <root>/unified is systemd's "hybrid" layout; anything else v1.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cgroups {

enum class Mode { kV1, kV2, kHybrid };

// "v1", "v2", "hybrid" (as recorded in state.json).
const char* ModeName(Mode m);
std::optional<Mode> ParseModeName(absl::string_view name);

// Pure decision from the two filesystem magics (unit-tested). unified_magic
// is that of <root>/unified, or 0 if it could not be statfs'ed.
Mode ModeFromMagics(int64_t root_magic, int64_t unified_magic);

// statfs on `root` (normally /sys/fs/cgroup) and `root`/unified.
absl::StatusOr<Mode> DetectMode(const std::string& root = "/sys/fs/cgroup");

}  // namespace berth::cgroups
