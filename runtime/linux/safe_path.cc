#include "runtime/linux/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::linux_ns {
namespace {

std::string Relative(absl::string_view path) {
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  return parts.empty() ? std::string(".") : absl::StrJoin(parts, "/");
}

}  // namespace

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::StatusOr<UniqueFd> OpenInRoot(int rootfd, absl::string_view path, int flags) {
  std::string rel = Relative(path);
  UniqueFd fd(OpenAt2(rootfd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!fd) return ErrnoError(absl::StrCat("open ", path, " in the container's rootfs"));
  return fd;
}

absl::StatusOr<UniqueFd> OpenInRootNoSymlinks(int rootfd, absl::string_view path) {
  std::string rel = Relative(path);
  UniqueFd fd(OpenAt2(rootfd, rel, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS));
  if (!fd && errno == ELOOP) {
    return absl::InvalidArgumentError(absl::StrCat(path, " contains a symlink"));
  }
  if (!fd) return ErrnoError(absl::StrCat("open ", path, " in the container's rootfs"));
  return fd;
}

absl::StatusOr<UniqueFd> CreateInRoot(int rootfd, absl::string_view path, TargetKind kind,
                                      int dir_mode) {
  // Walk component by component. A component that is a symlink whose target
  // does not exist yet is followed by hand, inside the root, and its target
  // created (as runc does); at most 40 links, like the kernel.
  std::vector<std::string> pending;
  for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) pending.emplace_back(p);
  std::reverse(pending.begin(), pending.end());  // a stack: next component at the back
  std::vector<std::string> done;                 // resolved components so far
  UniqueFd dir(OpenAt2(rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT));
  if (!dir) return ErrnoError("open rootfs");
  int links = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.back());
    pending.pop_back();
    if (name == ".") continue;
    if (name == "..") {
      if (!done.empty()) done.pop_back();
      std::string rel = done.empty() ? "." : absl::StrJoin(done, "/");
      dir.reset(
          OpenAt2(rootfd, rel, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
      if (!dir) return ErrnoError(absl::StrCat("open /", rel, " in rootfs"));
      continue;
    }
    bool last = pending.empty();
    std::string shown = absl::StrCat("/", absl::StrJoin(done, "/"), done.empty() ? "" : "/", name);
    bool as_file = last && kind == TargetKind::kFile;
    int flags = O_PATH | (as_file ? 0 : O_DIRECTORY);
    // Never follow here: symlinks are handled below, inside the root.
    UniqueFd next(::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
    if (!next && errno == ENOENT) {
      if (as_file) {
        UniqueFd f(::openat(dir.get(), name.c_str(),
                            O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f && errno != EEXIST) return ErrnoError(absl::StrCat("create ", shown, " in rootfs"));
      } else if (::mkdirat(dir.get(), name.c_str(), static_cast<mode_t>(dir_mode)) != 0 &&
                 errno != EEXIST) {
        return ErrnoError(absl::StrCat("create directory ", shown, " in rootfs"));
      }
      next.reset(::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC));
    }
    // O_PATH|O_NOFOLLOW opens a symlink itself rather than failing; a file
    // target must never be a symlink either.
    struct stat st;
    if (next && as_file && ::fstat(next.get(), &st) == 0 && S_ISLNK(st.st_mode)) {
      next.reset();
      errno = ELOOP;
    }
    if (!next && (errno == ELOOP || errno == ENOTDIR)) {
      char target[PATH_MAX];
      ssize_t n = ::readlinkat(dir.get(), name.c_str(), target, sizeof target - 1);
      if (n >= 0) {
        if (++links > 40)
          return absl::InvalidArgumentError(absl::StrCat(shown, ": too many symlinks"));
        target[n] = '\0';
        std::vector<std::string> parts;
        for (absl::string_view p : absl::StrSplit(target, '/', absl::SkipEmpty()))
          parts.emplace_back(p);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(*it);
        if (target[0] == '/') {
          done.clear();
          dir.reset(OpenAt2(rootfd, ".", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT));
          if (!dir) return ErrnoError("open rootfs");
        }
        continue;
      }
      errno = ENOTDIR;
    }
    if (!next) return ErrnoError(absl::StrCat("open ", shown, " in rootfs"));
    dir = std::move(next);
    done.push_back(name);
  }
  return dir;
}

}  // namespace berth::linux_ns
