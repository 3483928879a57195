#include "runtime/cli/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::cli {

void FlagSet::Bool(std::vector<absl::string_view> names, bool* out) {
  flags_.push_back({std::move(names), Kind::kBool, out});
}
void FlagSet::String(std::vector<absl::string_view> names, std::string* out) {
  flags_.push_back({std::move(names), Kind::kString, out});
}
void FlagSet::Int(std::vector<absl::string_view> names, int64_t* out) {
  flags_.push_back({std::move(names), Kind::kInt, out});
}
void FlagSet::StringList(std::vector<absl::string_view> names, std::vector<std::string>* out) {
  flags_.push_back({std::move(names), Kind::kStringList, out});
}

const FlagSet::Flag* FlagSet::Find(absl::string_view name) const {
  for (const Flag& f : flags_) {
    for (absl::string_view n : f.names) {
      if (n == name) return &f;
    }
  }
  return nullptr;
}

absl::Status FlagSet::Set(const Flag& flag, absl::string_view name, absl::string_view value) const {
  switch (flag.kind) {
    case Kind::kBool: {
      bool b;
      if (!absl::SimpleAtob(value, &b)) {
        return absl::InvalidArgumentError(
            absl::StrCat(command_, ": invalid boolean value \"", value, "\" for flag --", name));
      }
      *static_cast<bool*>(flag.out) = b;
      return absl::OkStatus();
    }
    case Kind::kString:
      *static_cast<std::string*>(flag.out) = std::string(value);
      return absl::OkStatus();
    case Kind::kStringList:
      static_cast<std::vector<std::string>*>(flag.out)->emplace_back(value);
      return absl::OkStatus();
    case Kind::kInt: {
      int64_t n;
      if (!absl::SimpleAtoi(value, &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat(command_, ": invalid integer value \"", value, "\" for flag --", name));
      }
      *static_cast<int64_t*>(flag.out) = n;
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args,
                                                        bool interspersed,
                                                        size_t max_interspersed_positionals) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool stop_here = positional.size() >= max_interspersed_positionals;
    if (arg == "--" && !stop_here) {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (stop_here || arg.size() < 2 || arg[0] != '-') {
      if (stop_here || !interspersed) {
        positional.insert(positional.end(), args.begin() + static_cast<long>(i), args.end());
        break;
      }
      positional.push_back(arg);
      continue;
    }
    absl::string_view body(arg);
    body.remove_prefix(body.substr(0, 2) == "--" ? 2 : 1);
    absl::string_view name = body;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") {
      help_ = true;
      continue;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(command_, ": flag provided but not defined: -", name));
    }
    if (flag->kind == Kind::kBool) {
      if (!has_value) value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(command_, ": flag needs an argument: -", name));
      }
      value = args[++i];
    }
    if (absl::Status st = Set(*flag, name, value); !st.ok()) return st;
  }
  return positional;
}

}  // namespace berth::cli
