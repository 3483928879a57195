// The runtime-spec JSON berthctl reads (a bundle's config.json for
// `run --bundle`, Container.spec_json for ps and start) and rewrites. Numbers
// are copied as written, never through a double, so a 64-bit limit survives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

// What `run --bundle DIR` changes in DIR/config.json's "process".
struct SpecOverrides {
  std::optional<std::vector<std::string>> args;
  // KEY=VALUE: replaces the spec's entry for KEY, else appended.
  std::vector<std::string> env;
  std::optional<std::string> cwd;
  std::optional<bool> terminal;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// config.json with the overrides applied; `name` prefixes errors.
absl::StatusOr<std::string> RewriteSpec(absl::string_view json, const SpecOverrides& overrides,
                                        absl::string_view name);

// The document again, indented by `indent` per level ("" for one line).
absl::StatusOr<std::string> ReformatJson(absl::string_view json, absl::string_view indent);

// Fields of a spec; missing ones give empty / false.
struct SpecSummary {
  std::vector<std::string> args;
  bool terminal = false;
  std::string root_path;
  bool root_readonly = false;
  std::string stop_signal;  // annotation org.opencontainers.image.stopSignal
};
absl::StatusOr<SpecSummary> SummarizeSpec(absl::string_view json, absl::string_view name);

}  // namespace berth::ctl
