// Internal to the metadata store: labels as a JSON object of strings.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {

// INVALID_ARGUMENT for a key or value that JSON text cannot carry back
// unchanged (a NUL byte, invalid UTF-8), naming the label.
absl::StatusOr<std::string> LabelsToJson(const Labels& labels);

// `what` names the row in errors ("container web in namespace default").
absl::StatusOr<Labels> LabelsFromJson(absl::string_view json, absl::string_view what);

}  // namespace berth::supervisor
