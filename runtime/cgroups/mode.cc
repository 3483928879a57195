#include "runtime/cgroups/mode.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::cgroups {

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kV1:
      return "v1";
    case Mode::kV2:
      return "v2";
    case Mode::kHybrid:
      return "hybrid";
  }
  return "v1";
}

std::optional<Mode> ParseModeName(absl::string_view name) {
  for (Mode m : {Mode::kV1, Mode::kV2, Mode::kHybrid}) {
    if (name == ModeName(m)) return m;
  }
  return std::nullopt;
}

Mode ModeFromMagics(int64_t root_magic, int64_t unified_magic) {
  if (root_magic == CGROUP2_SUPER_MAGIC) return Mode::kV2;
  if (root_magic == TMPFS_MAGIC && unified_magic == CGROUP2_SUPER_MAGIC) return Mode::kHybrid;
  return Mode::kV1;
}

absl::StatusOr<Mode> DetectMode(const std::string& root) {
  struct statfs st;
  if (::statfs(root.c_str(), &st) != 0) return ErrnoError(absl::StrCat("statfs ", root));
  struct statfs unified;
  int64_t unified_magic = 0;
  if (::statfs(absl::StrCat(root, "/unified").c_str(), &unified) == 0) {
    unified_magic = static_cast<int64_t>(unified.f_type);
  }
  return ModeFromMagics(static_cast<int64_t>(st.f_type), unified_magic);
}

}  // namespace berth::cgroups
