#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

absl::StatusOr<std::string> ReadFile(const std::string& path);
// Reads a file relative to a directory fd (openat, O_NOFOLLOW on the last component).
absl::StatusOr<std::string> ReadFileAt(int dirfd, const std::string& name);
// Writes `data` to a temp file next to `path`, fsync-free, then renames it
// over `path`, so readers never see a partial file (pid files, state.json).
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0644);
// The same, with the file and its directory fsynced: after a crash the file
// is there whole, or the old one is (berthd's bundles).
absl::Status WriteFileDurable(const std::string& path, absl::string_view data, int mode = 0644);
// Writes `data` to an existing file (cgroup and /proc knobs) in one write(2).
absl::Status WriteExisting(const std::string& path, absl::string_view data);
absl::Status WriteAll(int fd, absl::string_view data);
// fsync(2) of a directory: a rename or create in it made durable.
absl::Status FsyncDir(const std::string& dir);
// openat2(2) with O_CLOEXEC added, retried on EINTR and on the EAGAIN a
// concurrent rename can cause; the fd or -1 (errno set).
int OpenAt2(int dirfd, const std::string& path, int flags, uint64_t resolve);
// mkdir -p, then the last component's mode set to `mode`.
absl::Status MakeDirs(const std::string& path, unsigned mode);

}  // namespace berth
