// Writes into /proc go through here: the file is opened without following
// symlinks and checked with fstatfs to be on a real procfs before anything
// is written (CVE-2019-16884, CVE-2025-52881: an image or a mount could put
// a fake /proc, or redirect a /proc file, to steer the runtime's writes).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"

namespace berth::linux_ns {

// Opens `path` (under /proc) with openat2 RESOLVE_NO_SYMLINKS-like rules and
// verifies it is on procfs.
absl::StatusOr<UniqueFd> OpenProcFile(const std::string& path, int flags);

// OpenProcFile + one write.
absl::Status WriteProcFile(const std::string& path, absl::string_view value);

}  // namespace berth::linux_ns
