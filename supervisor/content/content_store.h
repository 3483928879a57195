// berthd's content store: blobs addressed by digest under
// <root>/content/sha256/<hex>. A blob is written to a temporary file under
// <root>/content/ingest/, hashed while it streams in, checked against the
// digest and size it was announced with, fsynced and renamed into place: a
// blob is present whole and verified, or not at all. Which blobs are in use
// is the metadata store's business (it records them after they land; a
// sweep at start removes blobs nothing records).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"
#include "supervisor/content/digest.h"

namespace berth::supervisor {

class ContentStore {
 public:
  // A blob being written. Dropped without Commit(): its temporary file goes.
  class Writer {
   public:
    ~Writer();
    absl::Status Write(absl::string_view data);
    uint64_t written() const { return written_; }
    // After Commit(): whether the blob was in the store already.
    bool existed() const { return existed_; }
    // Verifies (the expected digest and size, when given), fsyncs, renames
    // into place; the blob's digest. An existing blob with that digest is
    // kept (the same bytes).
    absl::StatusOr<std::string> Commit();

   private:
    friend class ContentStore;
    Writer(const ContentStore* store, UniqueFd fd, std::string temp,
           std::optional<std::string> expected, std::optional<uint64_t> size)
        : store_(store),
          fd_(std::move(fd)),
          temp_(std::move(temp)),
          expected_(std::move(expected)),
          size_(size) {}
    const ContentStore* store_;
    UniqueFd fd_;
    std::string temp_;
    std::optional<std::string> expected_;
    std::optional<uint64_t> size_;
    Sha256 hash_;
    uint64_t written_ = 0;
    bool committed_ = false;
    bool existed_ = false;
  };

  // `root`: berthd's root; the store lives in <root>/content.
  static absl::StatusOr<std::unique_ptr<ContentStore>> Open(const std::string& root);

  std::string BlobPath(absl::string_view digest) const;
  bool Has(absl::string_view digest) const;
  // A writer for one blob; `digest`/`size` as the descriptor announced them.
  absl::StatusOr<std::unique_ptr<Writer>> NewWriter(std::optional<std::string> digest,
                                                    std::optional<uint64_t> size) const;
  // Writes a whole blob held in memory (a manifest, a config); its digest.
  absl::StatusOr<std::string> Put(absl::string_view data,
                                  std::optional<std::string> digest = std::nullopt) const;
  // Reads a blob, refusing one larger than max_size (JSON documents).
  absl::StatusOr<std::string> Read(absl::string_view digest, uint64_t max_size) const;
  // Opens a blob for reading (O_RDONLY | O_CLOEXEC).
  absl::StatusOr<UniqueFd> OpenBlob(absl::string_view digest) const;
  absl::StatusOr<uint64_t> Size(absl::string_view digest) const;
  // Removes a blob; absent is fine.
  absl::Status Remove(absl::string_view digest) const;
  // Every digest present, and the temporary files of writes that never
  // finished (removed by SweepIngest()).
  std::vector<std::string> List() const;
  void SweepIngest() const;

 private:
  explicit ContentStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;  // <root>/content
};

}  // namespace berth::supervisor
