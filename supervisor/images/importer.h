// Import of image archives: OCI image layouts (a directory or a tar of one,
// index.json with nested indexes) and `docker save` archives (manifest.json,
// the legacy layout too). Blobs land verified in the content store, layers
// are unpacked once into the layer store, and the compressed layer blobs are
// dropped afterwards unless asked to keep them. Runs on a worker thread and
// touches no database: the engine records the result in one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
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

// Where an image's files come from: an archive's small documents by name,
// and blobs by path ("blobs/sha256/<hex>" for what a document names by
// digest), landed verified in the content store. Blob() may be called from
// several threads at once.
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // NOT_FOUND when the source has no such document.
  virtual absl::StatusOr<std::string> Doc(const std::string& name) = 0;
  // The file at `path` in the content store; `digest` (when known) checked.
  virtual absl::StatusOr<std::string> Blob(const std::string& path,
                                           std::optional<std::string> digest) = 0;

  // Digests this import added to the store (not there before): removed if
  // it fails, layer blobs dropped after their unpack.
  void NoteAdded(const std::string& digest) {
    std::lock_guard<std::mutex> l(mu_);
    added_.insert(digest);
  }
  bool ForgetAdded(const std::string& digest) {
    std::lock_guard<std::mutex> l(mu_);
    return added_.erase(digest) > 0;
  }
  std::set<std::string> TakeAdded() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(added_, {});
  }

 private:
  std::mutex mu_;
  std::set<std::string> added_;
};

// An image a source holds: its name and its manifest (in the store).
struct ImageToImport {
  std::string name;  // normalised reference
  std::string manifest_digest;
};

// `digest` in the store: there already, or from src at blobs/sha256/<hex>.
absl::Status EnsureBlob(ImageSource& src, const ContentStore& content, const std::string& digest);

// The images `wanted` (manifests in the store) with their configs and
// layers: layers not unpacked yet are fetched from `src` and unpacked, a few
// at once. `unpacked_now` gets the chain ids it unpacked (to remove again if
// the caller fails).
absl::StatusOr<ImportResult> ImportManifests(ImageSource& src,
                                             const std::vector<ImageToImport>& wanted,
                                             const ImportOptions& options,
                                             const ContentStore& content, const LayerStore& layers,
                                             std::vector<std::string>* unpacked_now);

// `path`: a directory (OCI layout or an unpacked docker save) or an archive
// file (tar, optionally gzip/zstd-compressed).
absl::StatusOr<ImportResult> ImportArchive(const std::string& path, const ImportOptions& options,
                                           const ContentStore& content, const LayerStore& layers);

}  // namespace berth::supervisor
