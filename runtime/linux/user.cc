#include "runtime/linux/user.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/linux/userns.h"

namespace berth::linux_ns {

ExecUser ResolveUser(uint32_t uid, absl::string_view passwd, absl::string_view group,
                     const std::vector<uint32_t>& additional_gids) {
  ExecUser out;
  std::string name;
  for (absl::string_view line : absl::StrSplit(passwd, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    uint32_t id;
    if (f.size() < 7 || !absl::SimpleAtoi(f[2], &id) || id != uid) continue;
    name = std::string(f[0]);
    if (!f[5].empty()) out.home = std::string(f[5]);
    break;
  }
  if (!name.empty()) {
    for (absl::string_view line : absl::StrSplit(group, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      gid_t gid;
      if (f.size() < 4 || !absl::SimpleAtoi(f[2], &gid)) continue;
      for (absl::string_view member : absl::StrSplit(f[3], ',', absl::SkipEmpty())) {
        bool seen = std::find(out.groups.begin(), out.groups.end(), gid) != out.groups.end();
        if (member == name && !seen) out.groups.push_back(gid);
      }
    }
  }
  for (uint32_t g : additional_gids) {
    if (std::find(out.groups.begin(), out.groups.end(), g) == out.groups.end())
      out.groups.push_back(g);
  }
  return out;
}

ExecUser LookupUser(const spec::User& user) {
  std::string passwd = ReadFile("/etc/passwd").value_or("");
  std::string group = ReadFile("/etc/group").value_or("");
  return ResolveUser(user.uid, passwd, group, user.additional_gids);
}

absl::Status ChownStdio(const spec::User& user) {
  for (int fd = 0; fd < 3; ++fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0) continue;  // closed
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) continue;
    if (st.st_uid == user.uid && st.st_gid == user.gid) continue;
    if (::fchown(fd, user.uid, user.gid) != 0 && errno != EPERM && errno != EINVAL &&
        errno != EROFS) {
      return ErrnoError(absl::StrCat("process.user: give stdio fd ", fd, " to uid ", user.uid));
    }
  }
  return absl::OkStatus();
}

absl::Status SwitchUser(const spec::User& user, const std::vector<gid_t>& groups) {
  // In a user namespace whose setgroups is denied (rootless), groups cannot
  // change: fine unless some were asked for.
  if (SetgroupsDenied()) {
    if (!user.additional_gids.empty()) {
      return absl::PermissionDeniedError(
          "process.user.additionalGids: setgroups is denied in this user namespace (rootless)");
    }
  } else if (::setgroups(groups.size(), groups.data()) != 0) {
    return ErrnoError("set supplementary groups (process.user.additionalGids)");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    return ErrnoError(absl::StrCat("setgid ", user.gid, " (process.user.gid)"));
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    return ErrnoError(absl::StrCat("setuid ", user.uid, " (process.user.uid)"));
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
