// Reads linux.seccomp from config.json (see seccomp.h for the model).
#pragma once

#include "absl/status/statusor.h"
#include "lib/json_tree.h"
#include "runtime/spec/seccomp.h"

namespace berth::spec {

// Parses the linux.seccomp object `v`. Errors name the JSON path, e.g.
// `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
absl::StatusOr<Seccomp> ParseSeccomp(const json::Value& v);

}  // namespace berth::spec
