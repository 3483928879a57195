#include "supervisor/content/digest.h"

#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::supervisor {

absl::Status CheckDigest(absl::string_view digest, absl::string_view what) {
  if (!absl::StartsWith(digest, "sha256:")) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", digest, "\" is not a sha256 digest (sha256:<64 hex digits>)"));
  }
  absl::string_view hex = DigestHex(digest);
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && (absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'));
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", digest, "\" is not a sha256 digest (64 lowercase hex digits)"));
  }
  return absl::OkStatus();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(absl::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::string Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, md, &n);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n)));
}

std::string Sha256::Of(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace berth::supervisor
