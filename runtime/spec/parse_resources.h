// Parser for linux.resources (and for `berth update --resources`, whose
// document is a bare LinuxResources object). Errors name the JSON path.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/json_tree.h"
#include "runtime/spec/resources.h"

namespace berth::spec {

// Parses `v` (absent or null leaves `out` empty).
absl::Status ParseResources(const json::Value& v, std::optional<Resources>* out);

// Parses a standalone LinuxResources document; errors are prefixed by `name`.
absl::StatusOr<Resources> ParseResourcesDocument(std::string_view json, std::string_view name);

}  // namespace berth::spec
