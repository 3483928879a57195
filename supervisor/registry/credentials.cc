#include "supervisor/registry/credentials.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_tree.h"

namespace berth::supervisor::registry {
namespace {

absl::StatusOr<Credentials> ParseEntry(const json::Value& entry, absl::string_view name) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", entry.path(), ": ", why));
  };
  if (!entry.is_object()) return bad("expected an object");
  Credentials c;
  if (json::Value auth = entry.Get("auth"); !auth.missing() && !auth.is_null()) {
    BERTH_ASSIGN_OR_RETURN(std::string encoded, auth.AsString());
    if (!encoded.empty()) {
      std::string decoded;
      if (!absl::Base64Unescape(encoded, &decoded)) return bad("\"auth\" is not valid base64");
      size_t colon = decoded.find(':');
      if (colon == decoded.npos) return bad("\"auth\" does not decode to user:password");
      c.username = decoded.substr(0, colon);
      c.password = decoded.substr(colon + 1);
      return c;
    }
  }
  for (auto [field, out] : {std::pair{"username", &c.username}, {"password", &c.password}}) {
    json::Value v = entry.Get(field);
    if (v.missing() || v.is_null()) continue;
    BERTH_ASSIGN_OR_RETURN(*out, v.AsString());
  }
  return c;
}

}  // namespace

std::string NormalizeRegistryKey(absl::string_view key) {
  absl::string_view k = absl::StripAsciiWhitespace(key);
  for (absl::string_view scheme : {"https://", "http://"}) {
    if (absl::StartsWithIgnoreCase(k, scheme)) {
      k.remove_prefix(scheme.size());
      break;
    }
  }
  if (size_t slash = k.find('/'); slash != k.npos) k = k.substr(0, slash);
  std::string host = absl::AsciiStrToLower(k);
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

absl::StatusOr<CredentialStore> CredentialStore::Parse(absl::string_view text,
                                                       absl::string_view name) {
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(text, name));
  CredentialStore store;
  store.source_ = std::string(name);
  json::Value root = doc->root();
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected a JSON object"));
  }
  json::Value auths = root.Get("auths");
  if (auths.missing() || auths.is_null()) return store;
  if (!auths.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": auths: expected an object"));
  }
  for (const auto& [key, entry] : auths.Members()) {
    BERTH_ASSIGN_OR_RETURN(Credentials c, ParseEntry(entry, name));
    if (c.username.empty() && c.password.empty()) continue;
    // The first entry for a host wins, as in docker's lookup.
    store.by_host_.emplace(NormalizeRegistryKey(key), std::move(c));
  }
  return store;
}

absl::StatusOr<CredentialStore> CredentialStore::Load(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

std::optional<Credentials> CredentialStore::Lookup(absl::string_view domain) const {
  auto it = by_host_.find(NormalizeRegistryKey(domain));
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

}  // namespace berth::supervisor::registry
