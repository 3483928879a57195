// Image references as docker and the distribution spec write them:
// [domain[:port]/]path[:tag][@digest], normalised as docker does
// ("busybox" -> "docker.io/library/busybox:latest").
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::supervisor {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "quay.io"
  std::string path;    // "library/busybox"
  std::string tag;     // "latest" unless a digest was given alone
  std::string digest;  // "sha256:..." or empty

  // "docker.io/library/busybox:latest" (and "@digest" when there is one).
  std::string String() const;
  // domain/path without tag or digest.
  std::string Repository() const { return domain + "/" + path; }
  // What docker prints: "busybox:latest", "localhost:5000/x:1".
  std::string Familiar() const;
  // The tag, or the digest when pulled by digest: what a registry resolves.
  std::string Object() const { return digest.empty() ? tag : digest; }
};

// Errors name the reference and what is wrong with it.
absl::StatusOr<Reference> ParseReference(absl::string_view ref);

// A stored image name made familiar ("docker.io/library/busybox:latest" ->
// "busybox:latest"); anything else is returned as it is.
std::string FamiliarName(absl::string_view name);

}  // namespace berth::supervisor
