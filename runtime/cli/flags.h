// Command-line flags parsed with Go's rules, as runc (urfave/cli) does:
// `-f`, `--f`, `--f=v`, `--f v`; booleans take `--f=true|false` but never the
// next argument; flags and positional arguments may be interleaved; `--`
// ends the flags. Callers (containerd, podman) depend on all of these forms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cli {

class FlagSet {
 public:
  explicit FlagSet(absl::string_view command) : command_(command) {}

  // `names` are without dashes; the first is the canonical one (for errors).
  void Bool(std::vector<absl::string_view> names, bool* out);
  void String(std::vector<absl::string_view> names, std::string* out);
  void Int(std::vector<absl::string_view> names, int64_t* out);
  // Repeatable string flag (--env A --env B).
  void StringList(std::vector<absl::string_view> names, std::vector<std::string>* out);

  // Parses args and returns the positional ones. With `interspersed` false,
  // parsing stops at the first positional argument and everything from there
  // on is returned as is (global flags before the subcommand; `exec ID cmd`).
  // `max_interspersed_positionals`: after this many positionals, the rest is
  // returned verbatim (exec/ps: everything after the ID belongs to the command).
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args,
                                                 bool interspersed = true,
                                                 size_t max_interspersed_positionals = SIZE_MAX);

  bool help_requested() const { return help_; }

 private:
  enum class Kind { kBool, kString, kInt, kStringList };
  struct Flag {
    std::vector<absl::string_view> names;
    Kind kind;
    void* out;
  };
  const Flag* Find(absl::string_view name) const;
  absl::Status Set(const Flag& flag, absl::string_view name, absl::string_view value) const;

  std::string command_;
  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace berth::cli
