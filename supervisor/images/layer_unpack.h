// Unpacks one image layer (a tar, possibly gzip- or zstd-compressed) into an
// empty directory, as an overlayfs lower layer: OCI whiteouts become
// overlay whiteouts (".wh.NAME" a 0:0 character device NAME, ".wh..wh..opq"
// the directory's trusted.overlay.opaque=y), and ownership, modes, mtimes,
// xattrs, hard links, symlinks and device nodes are kept.
//
// Safe against hostile layers: every entry is created relative to the
// layer's directory fd with openat2(RESOLVE_IN_ROOT), so no "..", absolute
// path, symlink planted by an earlier entry or hard link can reach outside
// it; ".." components are refused outright; trusted.overlay.* xattrs from the
// tar are dropped. gzip is inflated with ISA-L's igzip, zstd with libzstd;
// the uncompressed stream is hashed on the way (the layer's diff id).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/images/manifest.h"

namespace berth::supervisor {

struct UnpackResult {
  std::string diff_id;      // sha256 of the uncompressed tar stream
  uint64_t tar_bytes = 0;   // its length
  uint64_t file_bytes = 0;  // regular files' data written
};

// `blob_fd`: the layer blob, read from its current offset; `dir`: an empty
// directory to fill. An error names the entry.
absl::StatusOr<UnpackResult> UnpackLayer(int blob_fd, Compression compression,
                                         const std::string& dir);

}  // namespace berth::supervisor
