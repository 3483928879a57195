// Unpacked layers under <root>/layers/<first 16 hex digits of the chain id>:
// each layer once, shared by every image and container that uses it, the
// directory short so that an overlay of many layers fits the mount data
// page. A layer is unpacked into <root>/layers/tmp/ and renamed into place
// when it is whole and its diff id verified; which layers are in use is the
// metadata store's business (a sweep at start removes what it does not list).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/images/manifest.h"

namespace berth::supervisor {

struct LayerInfo {
  std::string chain_id;
  std::string diff_id;
  uint64_t size = 0;  // bytes of its files
};

class LayerStore {
 public:
  static absl::StatusOr<LayerStore> Open(const std::string& root);

  std::string Dir(const std::string& chain_id) const;
  bool Has(const std::string& chain_id) const;
  // Unpacks the blob at `blob_fd` unless the layer is there already; the
  // uncompressed stream must hash to `diff_id` (an error names both).
  absl::StatusOr<LayerInfo> Unpack(int blob_fd, Compression compression, const std::string& diff_id,
                                   const std::string& chain_id, const std::string& what) const;
  absl::Status Remove(const std::string& chain_id) const;
  // The directory names present (16 hex digits each), and a sweep of
  // unfinished unpacks.
  std::vector<std::string> ListDirs() const;
  void SweepTemporary() const;
  const std::string& dir() const { return dir_; }

 private:
  explicit LayerStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;  // <root>/layers
};

}  // namespace berth::supervisor
