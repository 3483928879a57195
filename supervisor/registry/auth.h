// The pieces of registry authentication that do no I/O: parsing the
// challenges of a 401's WWW-Authenticate header (RFC 7235, as the
// distribution spec's token auth uses it) and a token server's answer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::supervisor::registry {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercased: realm, service, scope
  std::string Param(absl::string_view name) const;
};

// Every challenge in one header value: `Bearer realm="https://auth/token",
// service="reg",scope="repository:a/b:pull"`, `Basic realm="Registry"`, or
// several separated by commas. A value that is not a challenge gives none.
std::vector<Challenge> ParseChallenges(absl::string_view header);

struct Token {
  std::string token;
  absl::Duration expires_in;
};

// A token server's JSON answer: "token" (or "access_token", OAuth 2's name),
// "expires_in" seconds (60 when absent, as the spec says). `realm` names the
// server in errors.
absl::StatusOr<Token> ParseTokenResponse(absl::string_view body, absl::string_view realm);

// The scope a pull of `repository` needs: "repository:<path>:pull".
std::string PullScope(absl::string_view repository_path);

}  // namespace berth::supervisor::registry
