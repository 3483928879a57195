#pragma once

#include "absl/status/status.h"

namespace berth::linux_ns {

// Copies the content of directory src into directory dst (regular files,
// directories, symlinks; mode and owner kept). Used by the "tmpcopyup" mount
// option to seed a tmpfs with what the image had at that path.
absl::Status CopyTree(int src_dirfd, int dst_dirfd);

}  // namespace berth::linux_ns
