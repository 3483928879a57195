#include "runtime/linux/userns.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::linux_ns {

std::string RenderIdMap(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const spec::IdMapping& m : maps) {
    absl::StrAppend(&out, m.container_id, " ", m.host_id, " ", m.size, "\n");
  }
  return out;
}

absl::Status ValidateIdMappings(const spec::Spec& s) {
  const spec::Linux& lx = s.linux_cfg;
  const spec::Namespace* user = s.FindNamespace(spec::NamespaceType::kUser);
  if (user == nullptr) {
    if (!lx.uid_mappings.empty() || !lx.gid_mappings.empty()) {
      return absl::InvalidArgumentError(
          "linux.uidMappings: mappings need a user namespace in linux.namespaces");
    }
    return absl::OkStatus();
  }
  if (!user->path.empty()) {
    return absl::UnimplementedError(
        "linux.namespaces: joining an existing user namespace by path is not supported yet");
  }
  if (lx.uid_mappings.empty()) {
    return absl::InvalidArgumentError("linux.uidMappings: required for a new user namespace");
  }
  if (lx.gid_mappings.empty()) {
    return absl::InvalidArgumentError("linux.gidMappings: required for a new user namespace");
  }
  for (const auto* maps : {&lx.uid_mappings, &lx.gid_mappings}) {
    const char* field = maps == &lx.uid_mappings ? "linux.uidMappings" : "linux.gidMappings";
    for (size_t i = 0; i < maps->size(); ++i) {
      if ((*maps)[i].size == 0) {
        return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "].size: must be positive"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status WriteIdMappings(pid_t pid, const std::vector<spec::IdMapping>& uids,
                             const std::vector<spec::IdMapping>& gids) {
  std::string base = absl::StrCat("/proc/", pid, "/");
  if (::geteuid() != 0) {
    BERTH_RETURN_IF_ERROR(WriteExisting(base + "setgroups", "deny"));
  }
  BERTH_RETURN_IF_ERROR(
      Annotate(WriteExisting(base + "uid_map", RenderIdMap(uids)), "linux.uidMappings"));
  return Annotate(WriteExisting(base + "gid_map", RenderIdMap(gids)), "linux.gidMappings");
}

bool SetgroupsDenied() {
  auto text = ReadFile("/proc/self/setgroups");
  return text.ok() && absl::StartsWith(*text, "deny");
}

}  // namespace berth::linux_ns
