#include "shim/shim_flags.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth::shim {

absl::StatusOr<ShimFlags> ParseShimFlags(int argc, char** argv) {
  ShimFlags f;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "-")) {
      if (!f.action.empty())
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument ", arg));
      f.action = std::string(arg);
      continue;
    }
    absl::ConsumePrefix(&arg, "-");
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "hold-stdin") {
      f.hold_stdin = !has_value || value == "true" || value == "1";
      continue;
    }
    if (arg == "debug" || arg == "v") {
      (arg == "debug" ? f.debug : f.version) = !has_value || value == "true" || value == "1";
      continue;
    }
    std::string* target = arg == "namespace"        ? &f.ns
                          : arg == "address"        ? &f.address
                          : arg == "publish-binary" ? &f.publish_binary
                          : arg == "id"             ? &f.id
                          : arg == "bundle"         ? &f.bundle
                          : arg == "socket"         ? &f.socket
                          : arg == "socket-dir"     ? &f.socket_dir
                                                    : nullptr;
    if (target == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag -", arg));
    if (!has_value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat("flag -", arg, " needs a value"));
      value = argv[++i];
    }
    *target = std::move(value);
  }
  if (f.action != "" && f.action != "start" && f.action != "delete") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown action ", f.action, " (start, delete)"));
  }
  return f;
}

std::string BundleDir(const ShimFlags& flags) {
  if (!flags.bundle.empty()) return flags.bundle;
  char cwd[4096];
  return getcwd(cwd, sizeof cwd) != nullptr ? std::string(cwd) : std::string(".");
}

}  // namespace berth::shim
