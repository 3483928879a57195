// Import of image archives: OCI image layouts (a directory or a tar of one,
// index.json with nested indexes) and `docker save` archives (manifest.json,
// the legacy layout too). Blobs land verified in the content store, layers
// are unpacked once into the layer store, and the compressed layer blobs are
// dropped afterwards unless asked to keep them. Runs on a worker thread and
// touches no database: the engine records the result in one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/content/content_store.h"
#include "supervisor/images/layer_store.h"
#include "supervisor/images/manifest.h"

namespace berth::supervisor {

struct ImportOptions {
  Platform platform;  // which manifest of an index
  bool keep_layer_blobs = false;
  // The repository for archives that name no image or only a tag (umoci's
  // "org.opencontainers.image.ref.name": "latest"); empty: such images are
  // an error.
  std::string name;
  std::function<void(const std::string& line)> progress;  // may be empty
};

struct ImageRecordDraft {
  std::string name;  // normalised reference ("docker.io/library/busybox:latest")
  std::string manifest_digest, config_digest;
  uint64_t manifest_size = 0, config_size = 0;
  std::string media_type;  // of the manifest
  Platform platform;
  std::vector<LayerInfo> layers;         // bottom first
  std::vector<std::string> layer_blobs;  // kept compressed blobs (keep_layer_blobs)
};

struct ImportResult {
  std::vector<ImageRecordDraft> images;
  // Blobs this import wrote that no image references (removed again).
  uint64_t bytes_unpacked = 0;
};

// `path`: a directory (OCI layout or an unpacked docker save) or an archive
// file (tar, optionally gzip/zstd-compressed).
absl::StatusOr<ImportResult> ImportArchive(const std::string& path, const ImportOptions& options,
                                           const ContentStore& content, const LayerStore& layers);

}  // namespace berth::supervisor
