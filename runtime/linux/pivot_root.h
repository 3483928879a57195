#pragma once

#include <string>

#include "absl/status/status.h"

namespace berth::linux_ns {

// Makes the rootfs (an fd of its mount) the root and detaches the old root,
// so nothing of the host stays reachable. Ends with cwd = "/".
absl::Status PivotRoot(int rootfs_dirfd);

// --no-pivot: MS_MOVE the rootfs over "/" and chroot (for ramfs hosts, where
// pivot_root is impossible; weaker isolation).
absl::Status MoveRoot(const std::string& rootfs);

// root.readonly: the root mount (not its submounts) becomes read-only.
absl::Status MakeRootReadonly();

}  // namespace berth::linux_ns
