// An image's User ("name", "uid", "name:group", "uid:gid") as numeric
// "uid:gid", names looked up in the image's own /etc/passwd and /etc/group:
// the topmost layer that has the file (a whiteout hides it), read inside
// that layer (openat2 RESOLVE_IN_ROOT), never the host's.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::supervisor {

// `layers`: layer directories, top layer first.
absl::StatusOr<std::string> ResolveImageUser(const std::string& user,
                                             const std::vector<std::string>& layers);

}  // namespace berth::supervisor
