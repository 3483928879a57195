// Registry credentials from a file in docker's config.json format:
//   {"auths": {"localhost:5000": {"auth": "<base64 user:password>"},
//              "https://index.docker.io/v1/": {"username": "u", "password": "p"}}}
// Keys are matched by host[:port] whatever their form ("https://host/v1/",
// "http://host:port", "host:port"); Docker Hub's keys (index.docker.io,
// registry-1.docker.io, docker.io) all match "docker.io". Credential helpers
// (credsStore, credHelpers) and identity tokens are not supported: an entry
// that has only those gives no credentials.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::supervisor::registry {

struct Credentials {
  std::string username;
  std::string password;
};

class CredentialStore {
 public:
  CredentialStore() = default;
  // Reads and parses `path`; errors name the file and the key.
  static absl::StatusOr<CredentialStore> Load(const std::string& path);
  // Parses config.json text; `name` prefixes errors.
  static absl::StatusOr<CredentialStore> Parse(absl::string_view text, absl::string_view name);

  // The credentials for a registry domain ("localhost:5000", "docker.io").
  std::optional<Credentials> Lookup(absl::string_view domain) const;
  const std::string& source() const { return source_; }
  bool empty() const { return by_host_.empty(); }

 private:
  std::map<std::string, Credentials> by_host_;  // normalised host[:port]
  std::string source_;                          // the file they came from
};

// A config.json key reduced to host[:port], lowercased: "https://Host:5000/v1/"
// -> "host:5000"; Docker Hub's names become "docker.io".
std::string NormalizeRegistryKey(absl::string_view key);

}  // namespace berth::supervisor::registry
