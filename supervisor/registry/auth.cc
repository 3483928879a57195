#include "supervisor/registry/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/json_tree.h"

namespace berth::supervisor::registry {
namespace {

// RFC 7230 token characters.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~/:").find(c) != absl::string_view::npos;
}

class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void SkipSpace() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void SkipSpaceAndCommas() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string Token() {
    size_t start = i_;
    while (!done() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // A quoted-string (backslash escapes) or a bare token68-ish value.
  std::string Value() {
    if (peek() != '"') {
      size_t start = i_;
      while (!done() && s_[i_] != ',' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
      return std::string(s_.substr(start, i_ - start));
    }
    ++i_;
    std::string out;
    while (!done() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out.push_back(s_[i_++]);
    }
    if (!done()) ++i_;  // the closing quote
    return out;
  }
  void Advance() { ++i_; }

 private:
  absl::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::string Challenge::Param(absl::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? "" : it->second;
}

std::vector<Challenge> ParseChallenges(absl::string_view header) {
  std::vector<Challenge> out;
  Scanner sc(header);
  while (true) {
    sc.SkipSpaceAndCommas();
    if (sc.done()) break;
    std::string word = sc.Token();
    if (word.empty()) {
      sc.Advance();  // a stray character: skip it
      continue;
    }
    sc.SkipSpace();
    if (sc.peek() == '=' && !out.empty()) {
      // name=value of the current challenge.
      sc.Advance();
      sc.SkipSpace();
      out.back().params[absl::AsciiStrToLower(word)] = sc.Value();
      continue;
    }
    if (sc.peek() == '=') {
      // A parameter before any scheme: not a challenge; skip its value.
      sc.Advance();
      sc.SkipSpace();
      sc.Value();
      continue;
    }
    out.push_back(Challenge{absl::AsciiStrToLower(word), {}});
  }
  return out;
}

absl::StatusOr<Token> ParseTokenResponse(absl::string_view body, absl::string_view realm) {
  std::string name = absl::StrCat("the token server ", realm, "'s answer");
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(body, name));
  json::Value root = doc->root();
  if (!root.is_object())
    return absl::UnauthenticatedError(absl::StrCat(name, " is not a JSON object"));
  Token t;
  for (absl::string_view key : {"token", "access_token"}) {
    json::Value v = root.Get(key);
    if (v.missing() || v.is_null()) continue;
    BERTH_ASSIGN_OR_RETURN(t.token, v.AsString());
    if (!t.token.empty()) break;
  }
  if (t.token.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(name, " has no \"token\" or \"access_token\""));
  }
  t.expires_in = absl::Seconds(60);
  if (json::Value v = root.Get("expires_in"); v.is_number()) {
    BERTH_ASSIGN_OR_RETURN(int64_t secs, v.AsInt64());
    if (secs > 0) t.expires_in = absl::Seconds(secs);
  }
  return t;
}

std::string PullScope(absl::string_view repository_path) {
  return absl::StrCat("repository:", repository_path, ":pull");
}

}  // namespace berth::supervisor::registry
