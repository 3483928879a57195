#include "supervisor/images/image_user.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"

namespace berth::supervisor {
namespace {

constexpr off_t kMaxFile = 4 << 20;

// The file at `rel` in the topmost layer that has it; nullopt when no layer
// does or a whiteout hides it.
absl::StatusOr<std::optional<std::string>> ReadFromLayers(const std::vector<std::string>& layers,
                                                          const std::string& rel) {
  for (const std::string& dir : layers) {
    UniqueFd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoError(absl::StrCat("open layer ", dir));
    UniqueFd f(OpenAt2(root.get(), rel, O_RDONLY | O_NOCTTY | O_NONBLOCK,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    if (!f) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      if (errno == ENXIO) return std::nullopt;  // a whiteout (the 0:0 device) hides it
      return ErrnoError(absl::StrCat("open ", rel, " in the image"));
    }
    struct stat st;
    if (::fstat(f.get(), &st) != 0) return ErrnoError(absl::StrCat("stat ", rel));
    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return std::nullopt;  // a whiteout
    if (!S_ISREG(st.st_mode) || st.st_size > kMaxFile) return std::nullopt;
    std::string data(static_cast<size_t>(st.st_size), '\0');
    if (::pread(f.get(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size())) {
      return ErrnoError(absl::StrCat("read ", rel, " in the image"));
    }
    return data;
  }
  return std::nullopt;
}

// Field `want` (0: name) of the line whose name matches, from passwd/group.
struct Entry {
  uint32_t id = 0, gid = 0;
};

std::optional<Entry> Lookup(const std::optional<std::string>& file, const std::string& name,
                            bool passwd) {
  if (!file) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*file, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    if (f.size() < 3 || f[0] != name) continue;
    Entry e;
    if (!absl::SimpleAtoi(f[2], &e.id)) continue;
    if (passwd && (f.size() < 4 || !absl::SimpleAtoi(f[3], &e.gid))) continue;
    return e;
  }
  return std::nullopt;
}

std::optional<Entry> LookupUid(const std::optional<std::string>& file, uint32_t uid) {
  if (!file) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*file, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    Entry e;
    if (f.size() < 4 || !absl::SimpleAtoi(f[2], &e.id) || e.id != uid) continue;
    if (!absl::SimpleAtoi(f[3], &e.gid)) continue;
    return e;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> ResolveImageUser(const std::string& user,
                                             const std::vector<std::string>& layers) {
  if (user.empty()) return std::string("0:0");
  std::vector<std::string> parts = absl::StrSplit(user, absl::MaxSplits(':', 1));
  const std::string& u = parts[0];
  std::optional<std::string> passwd, group;
  auto load = [&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(passwd, ReadFromLayers(layers, "etc/passwd"));
    BERTH_ASSIGN_OR_RETURN(group, ReadFromLayers(layers, "etc/group"));
    return absl::OkStatus();
  };
  BERTH_RETURN_IF_ERROR(load());
  uint32_t uid = 0, gid = 0;
  if (absl::SimpleAtoi(u, &uid)) {
    // A numeric uid: its primary group from passwd when it has a line there.
    std::optional<Entry> e = LookupUid(passwd, uid);
    gid = e ? e->gid : 0;
  } else {
    std::optional<Entry> e = Lookup(passwd, u, /*passwd=*/true);
    if (!e) {
      return absl::InvalidArgumentError(
          absl::StrCat("user \"", u, "\": no such user in the image's /etc/passwd"));
    }
    uid = e->id;
    gid = e->gid;
  }
  if (parts.size() == 2) {
    const std::string& g = parts[1];
    if (!absl::SimpleAtoi(g, &gid)) {
      std::optional<Entry> e = Lookup(group, g, /*passwd=*/false);
      if (!e) {
        return absl::InvalidArgumentError(
            absl::StrCat("group \"", g, "\": no such group in the image's /etc/group"));
      }
      gid = e->id;
    }
  }
  return absl::StrCat(uid, ":", gid);
}

}  // namespace berth::supervisor
