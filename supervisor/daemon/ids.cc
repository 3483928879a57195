#include "supervisor/daemon/ids.h"

#include <sys/random.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace berth::supervisor {

absl::Status ValidateName(absl::string_view value, absl::string_view field) {
  constexpr size_t kMax = 128;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", absl::CHexEscape(value.substr(0, kMax + 1)), "\" ", why,
        " (allowed: a letter or digit, then up to 127 letters, digits, '_', '.' or '-')"));
  };
  if (value.empty()) return bad("is empty");
  if (value.size() > kMax) return bad("is longer than 128 characters");
  if (!absl::ascii_isalnum(value[0])) return bad("does not start with a letter or digit");
  for (char c : value) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-')
      return bad("has a character that is not allowed");
  }
  return absl::OkStatus();
}

std::string GenerateId() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

}  // namespace berth::supervisor
