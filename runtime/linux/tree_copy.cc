#include "runtime/linux/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"

namespace berth::linux_ns {
namespace {

absl::Status CopyFile(int src_dir, int dst_dir, const char* name, const struct stat& st) {
  UniqueFd in(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoError(absl::StrCat("open ", name));
  UniqueFd out(::openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777));
  if (!out) return ErrnoError(absl::StrCat("create ", name));
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(absl::StrCat("copy ", name));
    left -= n;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyTree(int src_dirfd, int dst_dirfd) {
  UniqueFd iter(::openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!iter) return ErrnoError("open source directory");
  DIR* d = ::fdopendir(iter.release());
  if (d == nullptr) return ErrnoError("read source directory");
  absl::Status result;
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::fstatat(src_dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    absl::Status st_copy;
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(dst_dirfd, e->d_name, st.st_mode & 07777) != 0 && errno != EEXIST) {
        st_copy = ErrnoError(absl::StrCat("create ", name));
      } else {
        UniqueFd s(::openat(src_dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        UniqueFd t(::openat(dst_dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        st_copy = s && t ? CopyTree(s.get(), t.get()) : ErrnoError(absl::StrCat("open ", name));
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(src_dirfd, e->d_name, target.data(), target.size());
      if (n < 0 || ::symlinkat(target.substr(0, static_cast<size_t>(n)).c_str(), dst_dirfd,
                               e->d_name) != 0) {
        st_copy = ErrnoError(absl::StrCat("copy symlink ", name));
      }
    } else if (S_ISREG(st.st_mode)) {
      st_copy = CopyFile(src_dirfd, dst_dirfd, e->d_name, st);
    }
    if (st_copy.ok()) {
      ::fchownat(dst_dirfd, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    }
    result.Update(st_copy);
  }
  ::closedir(d);
  return result;
}

}  // namespace berth::linux_ns
