#include "runtime/linux/sysctl.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "lib/errors.h"
#include "runtime/linux/procfs.h"

namespace berth::linux_ns {
namespace {

using spec::NamespaceType;

bool OwnsNew(const spec::Spec& s, NamespaceType t) {
  const spec::Namespace* ns = s.FindNamespace(t);
  return ns != nullptr && ns->path.empty();
}

bool IsIpcKey(absl::string_view key) {
  return key == "kernel.msgmax" || key == "kernel.msgmnb" || key == "kernel.msgmni" ||
         key == "kernel.sem" || key == "kernel.shmall" || key == "kernel.shmmax" ||
         key == "kernel.shmmni" || key == "kernel.shm_rmid_forced" ||
         absl::StartsWith(key, "fs.mqueue.");
}

}  // namespace

absl::Status ValidateSysctl(const spec::Spec& s) {
  for (const auto& [key, value] : s.linux_cfg.sysctl) {
    std::string where = absl::StrCat("linux.sysctl: ", key);
    if (key.empty() || absl::StrContains(key, "..") || absl::StrContains(key, "/") ||
        key.front() == '.') {
      return absl::InvalidArgumentError(absl::StrCat(where, ": invalid name"));
    }
    if (IsIpcKey(key)) {
      if (!OwnsNew(s, NamespaceType::kIpc)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": needs a new ipc namespace"));
      }
    } else if (absl::StartsWith(key, "net.")) {
      if (!OwnsNew(s, NamespaceType::kNetwork)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": needs a new network namespace"));
      }
    } else if (key == "kernel.hostname" || key == "kernel.domainname") {
      if (!OwnsNew(s, NamespaceType::kUts)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": needs a new uts namespace"));
      }
      // Both would be written, the field last: refuse rather than pick.
      bool host = key == "kernel.hostname";
      const std::string& field = host ? s.hostname : s.domainname;
      if (!field.empty() && field != value) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": \"", value, "\" conflicts with ",
                                                       host ? "hostname" : "domainname", " \"",
                                                       field, "\""));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": not namespaced; it would change the host"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplySysctl(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string path = absl::StrCat("/proc/sys/", absl::StrReplaceAll(key, {{".", "/"}}));
    BERTH_RETURN_IF_ERROR(
        Annotate(WriteProcFile(path, value), absl::StrCat("linux.sysctl: ", key)));
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
