#include "supervisor/images/reference.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "supervisor/content/digest.h"

namespace berth::supervisor {
namespace {

constexpr absl::string_view kDockerHub = "docker.io";
constexpr absl::string_view kOfficial = "library/";

bool IsAlnum(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }

// One path component: [a-z0-9]+ joined by ".", "_", "__" or "-"+.
bool ValidComponent(absl::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (IsAlnum(ch)) continue;
    if (ch == '-') continue;
    if (ch == '.' || ch == '_') {
      if (!IsAlnum(c[i - 1]) && !(ch == '_' && c[i - 1] == '_' && i >= 2 && IsAlnum(c[i - 2]))) {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

bool ValidTag(absl::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  if (!(absl::ascii_isalnum(t[0]) || t[0] == '_')) return false;
  for (char c : t) {
    if (!(absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

bool ValidDomain(absl::string_view d) {
  if (d.empty()) return false;
  for (char c : d) {
    if (!(absl::ascii_isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  std::string s = Repository();
  if (!tag.empty()) absl::StrAppend(&s, ":", tag);
  if (!digest.empty()) absl::StrAppend(&s, "@", digest);
  return s;
}

std::string Reference::Familiar() const { return FamiliarName(String()); }

std::string FamiliarName(absl::string_view name) {
  std::string prefix = absl::StrCat(kDockerHub, "/");
  if (!absl::StartsWith(name, prefix)) return std::string(name);
  absl::string_view rest = name.substr(prefix.size());
  if (absl::StartsWith(rest, kOfficial) && rest.find('/', kOfficial.size()) == rest.npos) {
    rest.remove_prefix(kOfficial.size());
  }
  return std::string(rest);
}

absl::StatusOr<Reference> ParseReference(absl::string_view ref) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid image reference \"", ref, "\": ", why));
  };
  if (ref.empty()) return bad("empty");
  Reference r;
  absl::string_view rest = ref;
  if (size_t at = rest.find('@'); at != rest.npos) {
    r.digest = std::string(rest.substr(at + 1));
    if (!CheckDigest(r.digest, "digest").ok())
      return bad("the digest is not sha256:<64 hex digits>");
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' after the last '/' (a ':' before it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != rest.npos && (slash == rest.npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    if (!ValidTag(r.tag)) return bad(absl::StrCat("\"", r.tag, "\" is not a valid tag"));
    rest = rest.substr(0, colon);
  }
  absl::string_view name = rest;
  size_t first = name.find('/');
  absl::string_view head = first == name.npos ? "" : name.substr(0, first);
  if (first != name.npos &&
      (absl::StrContains(head, '.') || absl::StrContains(head, ':') || head == "localhost")) {
    r.domain = std::string(head);
    name = name.substr(first + 1);
    if (!ValidDomain(r.domain))
      return bad(absl::StrCat("\"", r.domain, "\" is not a registry host"));
  } else {
    r.domain = std::string(kDockerHub);
  }
  if (r.domain == "index.docker.io") r.domain = std::string(kDockerHub);
  if (name.empty()) return bad("no repository name");
  for (absl::string_view c : absl::StrSplit(name, '/')) {
    if (!ValidComponent(c)) {
      return bad(absl::StrCat("\"", c,
                              "\" is not a valid name component (lowercase letters, digits and "
                              "separators . _ __ -)"));
    }
  }
  r.path = std::string(name);
  if (r.domain == kDockerHub && !absl::StrContains(r.path, '/')) {
    r.path = absl::StrCat(kOfficial, r.path);
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  if (r.String().size() > 255 + 129 + 72) return bad("too long");
  return r;
}

}  // namespace berth::supervisor
