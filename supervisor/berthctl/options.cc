#include "supervisor/berthctl/options.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/container/signals.h"

namespace berth::ctl {

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid size \"", text,
                     "\": expected a number of bytes with an optional unit (k, m, g, t, p)"));
  };
  absl::string_view s = text;
  size_t digits = 0;
  while (digits < s.size() && (absl::ascii_isdigit(s[digits]) || s[digits] == '.')) ++digits;
  absl::string_view number = s.substr(0, digits);
  absl::string_view unit = s.substr(digits);
  if (number.empty() || !absl::ascii_isdigit(number.front()) || !absl::ascii_isdigit(number.back()))
    return invalid();
  double value;
  if (!absl::SimpleAtod(number, &value)) return invalid();
  absl::ConsumePrefix(&unit, " ");
  double multiplier = 1;
  if (!unit.empty()) {
    static constexpr absl::string_view kUnits = "kmgtp";
    size_t pos = kUnits.find(absl::ascii_tolower(unit.front()));
    if (pos != absl::string_view::npos) {
      for (size_t i = 0; i <= pos; ++i) multiplier *= 1024;
      unit.remove_prefix(1);
    }
  }
  if (!unit.empty() && absl::ascii_tolower(unit.front()) == 'i') unit.remove_prefix(1);
  if (!unit.empty() && absl::ascii_tolower(unit.front()) == 'b') unit.remove_prefix(1);
  if (!unit.empty()) return invalid();
  double bytes = value * multiplier;
  if (bytes >= 9.2e18) return invalid();
  return static_cast<int64_t>(bytes);
}

absl::StatusOr<double> ParseCpus(absl::string_view text) {
  double cpus;
  if (!absl::SimpleAtod(text, &cpus) || !(cpus > 0) || cpus > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid --cpus \"", text, "\": expected a positive number such as 0.5"));
  }
  return cpus;
}

absl::StatusOr<User> ParseUser(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
  User user;
  uint32_t gid;
  bool ok = absl::SimpleAtoi(parts[0], &user.uid) && !parts[0].empty() &&
            absl::ascii_isdigit(parts[0].front());
  if (ok && parts.size() == 2) {
    ok = !parts[1].empty() && absl::ascii_isdigit(parts[1].front()) &&
         absl::SimpleAtoi(parts[1], &gid);
    user.gid = gid;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid user \"", text,
                     "\": expected a numeric UID or UID:GID (names are not looked up)"));
  }
  return user;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(absl::string_view text) {
  std::pair<std::string, std::string> kv = absl::StrSplit(text, absl::MaxSplits('=', 1));
  if (kv.first.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label \"", text, "\": expected KEY=VALUE or KEY"));
  }
  return kv;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<std::optional<std::string>> ExpandEnv(absl::string_view flag,
                                                     const EnvLookup& lookup) {
  size_t eq = flag.find('=');
  absl::string_view name = flag.substr(0, eq);
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid environment variable \"", flag, "\": the name is empty"));
  }
  if (absl::StrContains(name, ' ') || absl::StrContains(name, '\t')) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid environment variable \"", name, "\": it contains whitespace"));
  }
  if (eq != absl::string_view::npos) return std::optional<std::string>(std::string(flag));
  std::optional<std::string> value = lookup(std::string(name));
  if (!value) return std::optional<std::string>();
  return std::optional<std::string>(absl::StrCat(name, "=", *value));
}

absl::StatusOr<std::vector<std::string>> ParseEnvFile(absl::string_view text,
                                                      absl::string_view name,
                                                      const EnvLookup& lookup) {
  std::vector<std::string> env;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::ConsumeSuffix(&line, "\r");
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto expanded = ExpandEnv(trimmed, lookup);
    if (!expanded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", line_number, ": ", expanded.status().message()));
    }
    if (*expanded) env.push_back(std::move(**expanded));
  }
  return env;
}

absl::StatusOr<Filters> ParseFilters(const std::vector<std::string>& flags,
                                     const std::vector<absl::string_view>& allowed_keys) {
  Filters filters;
  for (const std::string& flag : flags) {
    size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad format of filter \"", flag, "\" (expected name=value)"));
    }
    std::string key = absl::AsciiStrToLower(flag.substr(0, eq));
    bool known = false;
    for (absl::string_view k : allowed_keys) known = known || k == key;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid filter \"", key, "\" (known: ", absl::StrJoin(allowed_keys, ", "), ")"));
    }
    filters[key].push_back(flag.substr(eq + 1));
  }
  return filters;
}

namespace {

bool MatchOne(absl::string_view key, absl::string_view want, const ContainerFacts& c) {
  if (key == "name") return absl::StrContains(c.name, want);
  if (key == "id") return absl::StartsWith(c.id, want);
  if (key == "status") return c.status == want || (want == "exited" && c.status == "stopped");
  if (key == "label") {
    std::pair<std::string, std::string> kv = absl::StrSplit(want, absl::MaxSplits('=', 1));
    auto it = c.labels.find(kv.first);
    if (it == c.labels.end()) return false;
    return !absl::StrContains(want, '=') || it->second == kv.second;
  }
  return false;
}

}  // namespace

bool MatchesFilters(const Filters& filters, const ContainerFacts& c) {
  for (const auto& [key, values] : filters) {
    bool any = false;
    for (const std::string& v : values) any = any || MatchOne(key, v, c);
    if (!any) return false;
  }
  return true;
}

absl::Status ValidateStatusFilter(const Filters& filters) {
  static constexpr absl::string_view kStatuses[] = {"created", "running", "paused",
                                                    "stopped", "exited",  "unknown"};
  auto it = filters.find("status");
  if (it == filters.end()) return absl::OkStatus();
  for (const std::string& v : it->second) {
    bool known = false;
    for (absl::string_view s : kStatuses) known = known || s == v;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid filter status=", v, " (one of: ", absl::StrJoin(kStatuses, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseSignalName(absl::string_view text) { return container::ParseSignal(text); }

int StartFailureExitCode(const absl::Status& status) {
  std::string message = absl::AsciiStrToLower(status.message());
  if (absl::StrContains(message, "executable file not found") ||
      absl::StrContains(message, "no such file or directory") ||
      absl::StrContains(message, "not found in $path"))
    return 127;
  if (absl::StrContains(message, "permission denied") ||
      absl::StrContains(message, "exec format error") ||
      absl::StrContains(message, "is a directory"))
    return 126;
  return 125;
}

}  // namespace berth::ctl
