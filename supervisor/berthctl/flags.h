// Command-line flags parsed as docker's (spf13/pflag) are: `-d`, combined
// short booleans `-it`, `-e K=V` and `-eK=V`, `--name x` and `--name=x`,
// `--rm` and `--rm=false`; `--` ends the flags. Users type docker's forms
// out of habit, so berthctl takes exactly those (not Go's flag package's
// single-dash long flags that runtime/cli/flags.h parses for runc callers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

class FlagSet {
 public:
  // usage: the synopsis after "berthctl ", e.g. "kill [OPTIONS] CONTAINER...".
  FlagSet(absl::string_view command, absl::string_view usage);

  // `names`: one-letter names are short flags (-d), longer ones long (--detach).
  void Bool(std::vector<absl::string_view> names, bool* out, absl::string_view help);
  void String(std::vector<absl::string_view> names, std::string* out, absl::string_view help);
  void Int(std::vector<absl::string_view> names, int64_t* out, absl::string_view help);
  // Repeatable (-e A -e B).
  void StringList(std::vector<absl::string_view> names, std::vector<std::string>* out,
                  absl::string_view help);

  // Returns the positional arguments. With `interspersed` false, the first
  // positional argument ends the flags and it and everything after it are
  // returned as they are (run's command, exec's CONTAINER CMD...).
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args,
                                                 bool interspersed = true);

  bool help_requested() const { return help_; }
  const std::string& command() const { return command_; }
  // "Usage:  berthctl <usage>" alone.
  std::string UsageLine() const;
  // The usage line and one line per flag, for --help.
  std::string Help() const;

 private:
  enum class Kind { kBool, kString, kInt, kStringList };
  struct Flag {
    std::vector<absl::string_view> names;
    Kind kind;
    void* out;
    std::string help;
  };
  const Flag* FindLong(absl::string_view name) const;
  const Flag* FindShort(char name) const;
  absl::Status Set(const Flag& flag, absl::string_view shown_name, absl::string_view value) const;
  void Add(std::vector<absl::string_view> names, Kind kind, void* out, absl::string_view help);

  std::string command_;
  std::string usage_;
  std::vector<Flag> flags_;
  bool help_ = false;
};

}  // namespace berth::ctl
