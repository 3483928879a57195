// GETs over libcurl for the registry client: a pool of easy handles, each
// used by one request at a time and kept afterwards with its connections
// (keep-alive, TLS sessions), so that several threads can call at once and
// consecutive requests to a registry reuse a connection; redirects NOT followed (the
// caller decides where its Authorization header may go), the body of a 2xx
// response streamed into a sink, errors classified so that the caller can
// tell a TLS failure from a broken transfer worth resuming.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::supervisor::registry {

struct HttpResponse;

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Receives the body of a 2xx response as it arrives, with the response's
  // status and headers; an error aborts the transfer (sink_status). Without
  // a sink the body is kept in HttpResponse::body, up to max_body bytes
  // (more: body_too_large).
  std::function<absl::Status(const HttpResponse& head, absl::string_view data)> sink;
  size_t max_body = 1 << 20;
  std::string user_agent;
  std::string ca_file;  // PEM bundle; empty: the system's
  std::string ca_dir;   // a c_rehash'ed directory; empty: the system's
  absl::Duration connect_timeout = absl::Seconds(30);
  // Less than one byte a second for this long: the transfer is broken.
  absl::Duration stall_timeout = absl::Seconds(60);
  // Set (by another thread): the transfer stops within a second (kCancelled).
  const std::atomic<bool>* cancel = nullptr;
};

// What went wrong below HTTP.
enum class Transport {
  kOk,            // a response arrived (any status)
  kTlsHandshake,  // the TLS handshake failed (e.g. the server speaks plain HTTP)
  kTlsVerify,     // the server's certificate was not trusted
  kConnect,       // no connection (refused, unresolvable, connect timeout)
  kBroken,        // the connection broke or stalled mid-response: worth resuming
  kAborted,       // the sink refused the data (sink_status)
  kCancelled,     // HttpRequest::cancel was set
  kOther,
};

struct HttpResponse {
  Transport transport = Transport::kOk;
  std::string error;  // curl's message when transport != kOk
  absl::Status sink_status;
  bool body_too_large = false;
  long status = 0;                                           // 0: no response
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, final response
  std::string body;  // the body unless a 2xx went to the sink (error bodies capped at 64 KiB)

  // The first header of that name (lowercase), or nullopt.
  std::optional<std::string> Header(absl::string_view name) const;
  std::vector<std::string> AllHeaders(absl::string_view name) const;
};

class HttpClient {
 public:
  HttpClient() = default;
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Thread-safe.
  HttpResponse Get(const HttpRequest& request);

 private:
  void* Acquire();  // a CURL*
  void Release(void* handle);

  std::mutex mu_;
  std::vector<void*> idle_;
};

// `location` (absolute or relative, as in a Location header) resolved
// against `base`.
absl::StatusOr<std::string> ResolveUrl(absl::string_view base, absl::string_view location);
// "scheme://host:port" with the default port filled in: two URLs with the
// same origin are the same server.
absl::StatusOr<std::string> UrlOrigin(absl::string_view url);
// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEscape(absl::string_view s);

}  // namespace berth::supervisor::registry
