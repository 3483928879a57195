// A cache of compiled linux.seccomp programs under the runtime's --root
// (<root>/@seccomp-cache; '@' is not allowed in a container ID, so the
// directory can never be taken for one). Compiling a profile such as
// Docker's default with libseccomp costs several milliseconds; the program
// it gives is the same for every container with the same profile on this
// host, so after the first compile it is stored and, from then on, read
// back and loaded with seccomp(2) directly.
//
// An entry is named by the hex SHA-256 of everything libseccomp's output
// depends on (SeccompCacheKeyMaterial) and holds, in native byte order:
//   0   8  magic "BERTHSC1"
//   8   4  format version (kSeccompCacheFormat)
//   12  4  SECCOMP_FILTER_FLAG_* bits the program is loaded with
//   16  4  number of BPF instructions n (1..BPF_MAXINSNS)
//   20  4  zero
//   24 32  the key (raw SHA-256)
//   56 32  SHA-256 of bytes 0..56 followed by the program
//   88 8n  the program (struct sock_filter[n])
// Entries are written whole to a temp file and renamed into place, read
// only if the directory and the file are owned by root or the caller and
// writable by nobody else, and used only if length, key and checksum
// match; anything else is a miss, and the program compiled for it
// replaces the entry. At most kSeccompCacheMaxEntries are kept: each store
// evicts the oldest by mtime (a hit older than an hour refreshes it).
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"
#include "runtime/linux/seccomp_filter.h"
#include "runtime/spec/seccomp.h"

namespace berth::linux_ns {

inline constexpr char kSeccompCacheDir[] = "@seccomp-cache";
inline constexpr uint32_t kSeccompCacheFormat = 1;
inline constexpr size_t kSeccompCacheMaxEntries = 64;

// The normalised profile (its typed model written back as JSON, without
// listenerPath and listenerMetadata, which do not reach the program),
// berth's version, commit and build ID (the binary, so libseccomp and the
// compiler code too), libseccomp's version, the kernel (uname) and the
// actions it supports (/proc/sys/kernel/seccomp/actions_avail).
std::string SeccompCacheKeyMaterial(const spec::Seccomp& config);
// SHA-256 of the material: 32 raw bytes.
std::string SeccompCacheKey(const spec::Seccomp& config);

// The entry format above (pure; unit-tested). Decode returns nothing
// unless every field checks out for `key`.
std::string EncodeSeccompCacheEntry(absl::string_view key, const SeccompProgram& program);
std::optional<SeccompProgram> DecodeSeccompCacheEntry(absl::string_view data,
                                                      absl::string_view key);

class SeccompCache {
 public:
  // No cache: every lookup misses, nothing is stored.
  SeccompCache() = default;
  // <state_root>/@seccomp-cache, made if missing; a directory that cannot
  // be made or is not trusted gives no cache (said in the debug log).
  static SeccompCache Open(const std::string& state_root);

  bool enabled() const { return dir_.valid(); }
  std::optional<SeccompProgram> Lookup(absl::string_view key) const;
  // Best effort: a cache that cannot be written is only a slower start.
  void Store(absl::string_view key, const SeccompProgram& program) const;

 private:
  explicit SeccompCache(UniqueFd dir) : dir_(std::move(dir)) {}
  void Evict() const;
  UniqueFd dir_;
};

// The program for `config`: the cached one if there is a valid entry, else
// compiled (CompileSeccomp) and stored. Errors are CompileSeccomp's.
absl::StatusOr<SeccompProgram> CompileSeccompCached(const spec::Seccomp& config,
                                                    const SeccompCache& cache);

}  // namespace berth::linux_ns
