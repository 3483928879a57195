// Content digests ("sha256:<64 lowercase hex>", the only algorithm the
// image-spec requires) and a streaming SHA-256 over OpenSSL's libcrypto.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace berth::supervisor {

// "sha256:<hex>" checked: the algorithm, 64 lowercase hex digits. `what`
// names the field in the error ("manifests[0].digest").
absl::Status CheckDigest(absl::string_view digest, absl::string_view what);
// The hex part of a checked digest.
inline absl::string_view DigestHex(absl::string_view digest) { return digest.substr(7); }

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  // "sha256:<hex>" of everything given; the hasher is reset.
  std::string Finish();

  static std::string Of(absl::string_view data);

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace berth::supervisor
