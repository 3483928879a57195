#include "runtime/linux/exec_lookup.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace berth::linux_ns {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

absl::StatusOr<std::string> LookupExecutable(const std::string& name,
                                             const std::vector<std::string>& env) {
  if (absl::StrContains(name, '/')) {
    struct stat st;
    if (::stat(name.c_str(), &st) != 0) {
      return absl::NotFoundError(
          absl::StrCat("exec: \"", name, "\": stat ", name, ": no such file or directory"));
    }
    if (S_ISDIR(st.st_mode) || ::access(name.c_str(), X_OK) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("exec: \"", name, "\": permission denied"));
    }
    return name;
  }
  std::string path_var = kDefaultPath;
  for (const std::string& e : env) {
    if (absl::StartsWith(e, "PATH=")) path_var = e.substr(5);
  }
  for (absl::string_view dir : absl::StrSplit(path_var, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("exec: \"", name, "\": executable file not found in $PATH"));
}

}  // namespace berth::linux_ns
