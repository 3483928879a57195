#include "shim/shim_options.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/file_util.h"
#include "lib/shim_api.h"
#include "shim/runtime_client.h"

namespace berth::shim {
namespace {
constexpr char kOptionsFile[] = "/berth-shim-options.pb";
using shim_api::kRuncOptionsType;
// What containerd's CRI plugin sends for a runtime other than runc's when
// its config has an options table: a TOML file's path, which berth-shim has
// no settings to read from; the defaults apply.
constexpr char kCriOptionsType[] = "runtimeoptions.v1.Options";
}  // namespace

absl::StatusOr<ShimOptions> ParseOptions(const berth::pb::Any& any) {
  ShimOptions options;
  if (any.type_url().empty() && any.value().empty()) return options;
  absl::string_view type = any.type_url();
  if (size_t slash = type.rfind('/'); slash != absl::string_view::npos)
    type.remove_prefix(slash + 1);
  if (type == kCriOptionsType) return options;
  if (type != kRuncOptionsType) {
    return absl::InvalidArgumentError(
        absl::StrCat("options: type ", any.type_url(), " is not ", kRuncOptionsType));
  }
  if (!options.ParseFromString(any.value())) {
    return absl::InvalidArgumentError(absl::StrCat("options: not a valid ", kRuncOptionsType));
  }
  return options;
}

absl::Status SaveOptions(const std::string& bundle, const ShimOptions& options) {
  return WriteFileAtomic(bundle + kOptionsFile, options.SerializeAsString(), 0600);
}

ShimOptions LoadOptions(const std::string& bundle) {
  ShimOptions options;
  absl::StatusOr<std::string> bytes = ReadFile(bundle + kOptionsFile);
  if (bytes.ok()) options.ParseFromString(*bytes);
  return options;
}

std::string RuntimeBinary(const ShimOptions& options) {
  return FindRuntimeBinary(options.binary_name().empty() ? "berth" : options.binary_name());
}

std::string RuntimeRoot(const ShimOptions& options, const std::string& ns) {
  return absl::StrCat(options.root().empty() ? "/run/containerd/berth" : options.root(), "/", ns);
}

}  // namespace berth::shim
