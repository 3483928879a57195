// Parsing of flag values as docker's CLI reads them (sizes, env, labels,
// filters, signals). No gRPC here, so the unit tests link it alone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

// go-units' RAMInBytes: "1024", "64m", "64M", "1.5g", "512kb", "2GiB" (binary
// multiples). Negative or malformed sizes are refused.
absl::StatusOr<int64_t> ParseSize(absl::string_view text);

// --cpus: a positive decimal ("0.5", "2").
absl::StatusOr<double> ParseCpus(absl::string_view text);

// -u: "UID" or "UID:GID", numeric (berthd does not read the image's
// /etc/passwd).
struct User {
  uint32_t uid = 0;
  std::optional<uint32_t> gid;
};
absl::StatusOr<User> ParseUser(absl::string_view text);

// "KEY=VALUE" → {KEY, VALUE}; "KEY" → {KEY, ""} (docker's --label KEY).
absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(absl::string_view text);

// A variable's value in berthctl's environment, nullopt if unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// `-e KEY=VALUE` as is; `-e KEY` takes KEY's value from `lookup` and is
// dropped (nullopt) when KEY is unset there, as docker does.
absl::StatusOr<std::optional<std::string>> ExpandEnv(absl::string_view flag,
                                                     const EnvLookup& lookup);
// An --env-file's text: one KEY=VALUE or KEY per line, blank lines and lines
// starting with '#' skipped. `name` prefixes errors.
absl::StatusOr<std::vector<std::string>> ParseEnvFile(absl::string_view text,
                                                      absl::string_view name,
                                                      const EnvLookup& lookup);

// --filter KEY=VALUE flags. Values of one key are alternatives (any may
// match), different keys must all match, as in docker.
using Filters = std::map<std::string, std::vector<std::string>>;
absl::StatusOr<Filters> ParseFilters(const std::vector<std::string>& flags,
                                     const std::vector<absl::string_view>& allowed_keys);

// What `ps --filter` matches against.
struct ContainerFacts {
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string status;  // berthd's: created, running, paused, stopped, unknown
};
// name: substring of the name; id: prefix of the id; label: KEY or
// KEY=VALUE; status: berthd's words, or docker's "exited" for "stopped".
bool MatchesFilters(const Filters& filters, const ContainerFacts& c);
// The status values `--filter status=` accepts.
absl::Status ValidateStatusFilter(const Filters& filters);

// "KILL", "SIGKILL", "kill", "9", "RTMIN+1" → the signal number.
absl::StatusOr<int> ParseSignalName(absl::string_view text);

// docker run's exit status when the container's process could not start:
// 127 when its command was not found, 126 when it could not be executed,
// 125 for any other failure.
int StartFailureExitCode(const absl::Status& status);

}  // namespace berth::ctl
