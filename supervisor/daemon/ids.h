// Identifiers berthd accepts (container ids and names, exec ids,
// namespaces): [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, so no path is ever built
// from unchecked input; and generated ids (64 hex digits, as docker's).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::supervisor {

// INVALID_ARGUMENT naming `field` and the rule.
absl::Status ValidateName(absl::string_view value, absl::string_view field);
std::string GenerateId();

}  // namespace berth::supervisor
