#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::linux_ns {

// Finds args[0] as execve will see it inside the container: a name with a
// slash is taken as is, anything else is searched in PATH from `env` (or the
// default PATH). Errors use runc's wording, which callers match:
// `exec: "foo": executable file not found in $PATH`.
absl::StatusOr<std::string> LookupExecutable(const std::string& name,
                                             const std::vector<std::string>& env);

}  // namespace berth::linux_ns
