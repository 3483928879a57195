#include "supervisor/berthctl/flags.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::ctl {

FlagSet::FlagSet(absl::string_view command, absl::string_view usage)
    : command_(command), usage_(usage) {}

void FlagSet::Add(std::vector<absl::string_view> names, Kind kind, void* out,
                  absl::string_view help) {
  flags_.push_back({std::move(names), kind, out, std::string(help)});
}
void FlagSet::Bool(std::vector<absl::string_view> names, bool* out, absl::string_view help) {
  Add(std::move(names), Kind::kBool, out, help);
}
void FlagSet::String(std::vector<absl::string_view> names, std::string* out,
                     absl::string_view help) {
  Add(std::move(names), Kind::kString, out, help);
}
void FlagSet::Int(std::vector<absl::string_view> names, int64_t* out, absl::string_view help) {
  Add(std::move(names), Kind::kInt, out, help);
}
void FlagSet::StringList(std::vector<absl::string_view> names, std::vector<std::string>* out,
                         absl::string_view help) {
  Add(std::move(names), Kind::kStringList, out, help);
}

const FlagSet::Flag* FlagSet::FindLong(absl::string_view name) const {
  for (const Flag& f : flags_) {
    for (absl::string_view n : f.names) {
      if (n.size() > 1 && n == name) return &f;
    }
  }
  return nullptr;
}

const FlagSet::Flag* FlagSet::FindShort(char name) const {
  for (const Flag& f : flags_) {
    for (absl::string_view n : f.names) {
      if (n.size() == 1 && n[0] == name) return &f;
    }
  }
  return nullptr;
}

absl::Status FlagSet::Set(const Flag& flag, absl::string_view shown_name,
                          absl::string_view value) const {
  auto invalid = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid argument \"", value, "\" for \"", shown_name, "\" flag: ", what));
  };
  switch (flag.kind) {
    case Kind::kBool: {
      bool b;
      if (!absl::SimpleAtob(value, &b)) return invalid("not a boolean");
      *static_cast<bool*>(flag.out) = b;
      break;
    }
    case Kind::kString:
      *static_cast<std::string*>(flag.out) = std::string(value);
      break;
    case Kind::kStringList:
      static_cast<std::vector<std::string>*>(flag.out)->emplace_back(value);
      break;
    case Kind::kInt: {
      int64_t n;
      if (!absl::SimpleAtoi(value, &n)) return invalid("not an integer");
      *static_cast<int64_t*>(flag.out) = n;
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args,
                                                        bool interspersed) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (!interspersed) {
        positional.insert(positional.end(), args.begin() + static_cast<long>(i), args.end());
        break;
      }
      positional.emplace_back(arg);
      continue;
    }
    if (arg[1] == '-') {  // --name, --name=value, --name value
      absl::string_view body = arg.substr(2);
      size_t eq = body.find('=');
      absl::string_view name = body.substr(0, eq);
      const Flag* flag = FindLong(name);
      if (flag == nullptr && name == "help") {
        help_ = true;
        continue;
      }
      std::string shown = absl::StrCat("--", name);
      if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag: ", shown));
      if (eq != absl::string_view::npos) {
        if (absl::Status s = Set(*flag, shown, body.substr(eq + 1)); !s.ok()) return s;
      } else if (flag->kind == Kind::kBool) {
        *static_cast<bool*>(flag->out) = true;
      } else if (i + 1 < args.size()) {
        if (absl::Status s = Set(*flag, shown, args[++i]); !s.ok()) return s;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag needs an argument: ", shown));
      }
      continue;
    }
    // A group of short flags: -it, -e K=V, -eK=V, -d=false.
    absl::string_view group = arg.substr(1);
    for (size_t j = 0; j < group.size(); ++j) {
      char c = group[j];
      const Flag* flag = FindShort(c);
      if (flag == nullptr && c == 'h') {
        help_ = true;
        continue;
      }
      std::string shown(1, c);
      if (flag == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown shorthand flag: '", shown, "' in -", group));
      }
      shown = absl::StrCat("-", shown);
      absl::string_view rest = group.substr(j + 1);
      bool has_eq = !rest.empty() && rest[0] == '=';
      if (flag->kind == Kind::kBool) {
        if (has_eq) {
          if (absl::Status s = Set(*flag, shown, rest.substr(1)); !s.ok()) return s;
          break;
        }
        *static_cast<bool*>(flag->out) = true;
        continue;
      }
      if (has_eq) rest.remove_prefix(1);
      if (!rest.empty() || has_eq) {
        if (absl::Status s = Set(*flag, shown, rest); !s.ok()) return s;
      } else if (i + 1 < args.size()) {
        if (absl::Status s = Set(*flag, shown, args[++i]); !s.ok()) return s;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag needs an argument: '", group.substr(j, 1), "' in -", group));
      }
      break;
    }
  }
  return positional;
}

std::string FlagSet::UsageLine() const { return absl::StrCat("Usage:  berthctl ", usage_); }

std::string FlagSet::Help() const {
  std::string out = absl::StrCat(UsageLine(), "\n");
  if (flags_.empty()) return out;
  std::vector<std::pair<std::string, std::string>> lines;
  for (const Flag& f : flags_) {
    std::string shorts, longs;
    for (absl::string_view n : f.names) {
      if (n.size() == 1) {
        absl::StrAppend(&shorts, "-", n, ", ");
      } else {
        absl::StrAppend(&longs, longs.empty() ? "" : ", ", "--", n);
      }
    }
    std::string names = shorts.empty() ? absl::StrCat("    ", longs) : shorts + longs;
    if (f.kind == Kind::kString || f.kind == Kind::kStringList) absl::StrAppend(&names, " string");
    if (f.kind == Kind::kInt) absl::StrAppend(&names, " int");
    lines.emplace_back(std::move(names), f.help);
  }
  size_t width = 0;
  for (const auto& [names, help] : lines) width = std::max(width, names.size());
  absl::StrAppend(&out, "\nOptions:\n");
  for (const auto& [names, help] : lines) {
    absl::StrAppend(&out, absl::StrFormat("  %-*s   %s\n", static_cast<int>(width), names, help));
  }
  return out;
}

}  // namespace berth::ctl
