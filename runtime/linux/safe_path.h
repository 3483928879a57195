// Paths inside the container's rootfs, resolved with openat2(RESOLVE_IN_ROOT):
// a symlink in the image can never lead outside the rootfs, and every mount
// targets an fd (/proc/self/fd/N), so a path swapped after the check
// (CVE-2021-30465) is not followed either.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"

namespace berth::linux_ns {

// openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
absl::StatusOr<UniqueFd> OpenInRoot(int rootfd, absl::string_view path, int flags);

// Opens path in the root refusing any symlink on the way: InvalidArgument
// when there is one, NotFound when a component is missing.
absl::StatusOr<UniqueFd> OpenInRootNoSymlinks(int rootfd, absl::string_view path);

enum class TargetKind { kDirectory, kFile };

// Creates every missing component of `path` inside the root (directories,
// and the last one as `kind`) and returns an O_PATH fd to it.
absl::StatusOr<UniqueFd> CreateInRoot(int rootfd, absl::string_view path, TargetKind kind,
                                      int dir_mode = 0755);

// "/proc/self/fd/N": the name mount(2) and friends use for an fd.
std::string FdPath(int fd);

}  // namespace berth::linux_ns
