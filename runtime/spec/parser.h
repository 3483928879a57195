#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/spec/spec.h"

namespace berth::spec {

// Parses and validates config.json text. Unknown fields are ignored, as the
// runtime-spec requires. Every error names the JSON path and what was
// expected, e.g. "process.args: must be a non-empty array of strings".
absl::StatusOr<Spec> ParseSpec(std::string_view json);

// True for the ociVersion values berth accepts: 1.0.0 through 1.2.x
// (pre-release suffixes such as "1.0.2-dev" included).
// Parses a process.json (`exec --process`): the `process` object of the
// config on its own; errors name its fields ("args: ...").
absl::StatusOr<Process> ParseProcessJson(std::string_view json);

bool IsSupportedOciVersion(std::string_view version);

// Parses "pid", "network", ...; nullopt for an unknown name.
std::optional<NamespaceType> ParseNamespaceType(std::string_view name);

}  // namespace berth::spec
