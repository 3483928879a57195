// A client of the OCI distribution spec (and Docker's registry API v2) for
// pulling: manifests by tag or digest, blobs streamed into the content
// store. Thread-safe: one client serves every pull of berthd, several
// threads fetching blobs at once (each request on its own curl handle, from
// a pool that keeps connections alive; the token cache and the per-host
// scheme under a mutex).
//
// Transport: HTTPS, verified against the system's CAs or the given CA
// file/directory. For localhost, 127.0.0.0/8, [::1] and the hosts listed as
// insecure, plain HTTP is allowed too: HTTPS is tried first and a server
// that does not speak TLS is then reached over HTTP (as docker does). A
// certificate that fails verification is an error, never a fallback.
//
// Auth: on a 401 the WWW-Authenticate challenge is answered: Bearer (a token
// from the realm, with basic auth when there are credentials; cached per host
// and scope until it expires) or Basic (the credentials). Redirects (blob
// storage) are followed without the Authorization header when they leave
// the registry's origin.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/content/content_store.h"
#include "supervisor/images/reference.h"
#include "supervisor/registry/credentials.h"
#include "supervisor/registry/http.h"

namespace berth::supervisor::registry {

struct RegistryOptions {
  std::string credentials_file;             // docker's config.json format; empty: none
  std::string ca_file;                      // PEM bundle to trust; empty: the system's
  std::string ca_dir;                       // c_rehash'ed directory; empty: the system's
  std::vector<std::string> insecure_hosts;  // "host[:port]": plain HTTP allowed
  std::string user_agent;                   // empty: "berthd/<version>"
  // Tries for one blob; a broken transfer is resumed with a Range request
  // after retry_delay, doubled each time.
  int blob_attempts = 4;
  absl::Duration retry_delay = absl::Milliseconds(500);
  // 429 Too Many Requests: waits for Retry-After (at most max_retry_after)
  // this many times before giving up.
  int rate_limit_retries = 2;
  absl::Duration max_retry_after = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration stall_timeout = absl::Seconds(60);  // < 1 byte/s this long: broken
};

struct FetchedManifest {
  std::string bytes;
  std::string media_type;  // Content-Type, or the document's mediaType
  std::string digest;      // sha256 of bytes
};

// Manifests larger than this are refused (as containerd does).
inline constexpr uint64_t kMaxManifestSize = 4 << 20;

// The host serving a reference's domain: "docker.io" -> "registry-1.docker.io".
std::string RegistryHost(absl::string_view domain);
// Whether plain HTTP may be used for a domain: loopback names and addresses,
// and `insecure` (entries "host" or "host:port").
bool PlainHttpAllowed(absl::string_view domain, const std::vector<std::string>& insecure);

class RegistryClient {
 public:
  // Loads the credentials file (an error names it).
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(RegistryOptions options);

  // GET /v2/<path>/manifests/<object>; `object` is a tag or a digest (then
  // the bytes are checked against it). Accepts OCI indexes and manifests and
  // Docker's manifest lists and schema 2 manifests.
  absl::StatusOr<FetchedManifest> FetchManifest(const Reference& ref, absl::string_view object);

  // GET /v2/<path>/blobs/<digest>, streamed into `writer` (the caller
  // commits it, which verifies digest and size). `progress` (may be empty)
  // gets the bytes written so far after every chunk.
  absl::Status FetchBlob(const Reference& ref, const std::string& digest, uint64_t size,
                         ContentStore::Writer& writer,
                         std::function<void(uint64_t bytes)> progress);

  // Stops every request in flight and every later one with CANCELLED
  // (berthd's shutdown); from any thread.
  void CancelAll() { cancelled_.store(true); }

 private:
  struct CachedToken {
    std::string token;
    absl::Time expiry;
  };
  // One logical request to a registry: auth, 429 retries, scheme fallback.
  struct Call {
    const Reference* ref;
    std::string path;  // "/v2/..."
    std::vector<std::string> headers;
    std::function<absl::Status(const HttpResponse&, absl::string_view)> sink;
    size_t max_body = 1 << 20;
  };

  explicit RegistryClient(RegistryOptions options, CredentialStore credentials);
  HttpRequest BaseRequest() const;
  // Sends `call`, answering auth challenges and waiting out 429s; an error
  // only when no usable response came (auth failed, rate limited too often).
  absl::StatusOr<HttpResponse> Send(const Call& call);
  // GET following redirects; `auth` goes only to `auth_origin`.
  HttpResponse GetFollowing(HttpRequest request, const std::string& auth,
                            const std::string& auth_origin);
  absl::Status Authorize(const Reference& ref, const std::string& scope,
                         const HttpResponse& challenge_response);
  absl::StatusOr<CachedToken> FetchToken(const Reference& ref, const std::string& host,
                                         const std::string& realm, const std::string& service,
                                         const std::string& scope);
  std::string AuthHeader(const std::string& host, const std::string& scope);
  std::string BaseUrl(const std::string& domain);
  // Sleeps for `d` or until CancelAll().
  void Sleep(absl::Duration d) const;
  std::string CredentialsNote(const std::string& domain) const;

  const RegistryOptions options_;
  std::atomic<bool> cancelled_{false};
  const CredentialStore credentials_;
  HttpClient http_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, CachedToken> tokens_;  // (host, scope)
  std::set<std::string> basic_hosts_;                                  // asked for Basic
  std::map<std::string, std::string> schemes_;                         // host -> "http"
};

}  // namespace berth::supervisor::registry
