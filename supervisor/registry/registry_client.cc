#include "supervisor/registry/registry_client.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "lib/json_tree.h"
#include "lib/log.h"
#include "lib/version.h"
#include "supervisor/content/digest.h"
#include "supervisor/registry/auth.h"

namespace berth::supervisor::registry {
namespace {

constexpr char kManifestAccept[] =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr int kMaxRedirects = 10;

bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// "host" of "host:port", "[::1]:5000", "::1".
std::string HostPart(absl::string_view domain) {
  if (absl::StartsWith(domain, "[")) {
    size_t close = domain.find(']');
    return std::string(domain.substr(1, close == domain.npos ? domain.npos : close - 1));
  }
  if (std::count(domain.begin(), domain.end(), ':') > 1) return std::string(domain);  // bare IPv6
  return std::string(domain.substr(0, domain.find(':')));
}

// The registry's own words: "CODE: message" of every errors[] entry, or the
// start of a non-JSON body.
std::string RegistryMessage(const HttpResponse& r) {
  auto doc = json::Document::Parse(r.body, "error");
  if (doc.ok()) {
    std::vector<std::string> parts;
    for (const json::Value& e : (*doc)->root().Get("errors").Elements()) {
      auto message = e.Get("message").AsString();
      auto code = e.Get("code").AsString();
      std::string part = message.ok() ? *message : "";
      if (code.ok() && !code->empty())
        part = part.empty() ? *code : absl::StrCat(*code, ": ", part);
      if (!part.empty()) parts.push_back(part);
    }
    if (!parts.empty()) return absl::StrJoin(parts, "; ");
  }
  absl::string_view text = absl::StripAsciiWhitespace(r.body);
  if (text.empty() || absl::StartsWith(text, "<") || absl::StartsWith(text, "{")) return "";
  std::string s(text.substr(0, 200));
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string WithRegistryMessage(std::string msg, const HttpResponse& r) {
  std::string detail = RegistryMessage(r);
  if (!detail.empty()) absl::StrAppend(&msg, " (registry: ", detail, ")");
  return msg;
}

// An error for a transport failure talking to `host`.
absl::Status TransportError(const HttpResponse& r, absl::string_view host) {
  switch (r.transport) {
    case Transport::kTlsVerify:
      return absl::UnavailableError(absl::StrCat(
          "TLS connection to ", host, " failed: its certificate is not trusted: ", r.error,
          " (give the CA that signed it as a CA file or directory)"));
    case Transport::kTlsHandshake:
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with ", host, " failed: ", r.error));
    case Transport::kConnect:
      return absl::UnavailableError(absl::StrCat("cannot connect to ", host, ": ", r.error));
    case Transport::kBroken:
      return absl::UnavailableError(absl::StrCat("transfer from ", host, " broke: ", r.error));
    case Transport::kAborted:
      if (!r.sink_status.ok()) return r.sink_status;
      break;
    case Transport::kCancelled:
      return absl::CancelledError(absl::StrCat("request to ", host, " cancelled"));
    default:
      break;
  }
  if (r.body_too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(host, " sent a response too large"));
  }
  return absl::UnavailableError(absl::StrCat("request to ", host, " failed: ", r.error));
}

// The status for a final HTTP response that is not a success. `not_found`
// is the message of a 404.
absl::Status HttpError(const HttpResponse& r, absl::string_view host, absl::string_view what,
                       absl::string_view not_found) {
  if (r.status == 404) return absl::NotFoundError(WithRegistryMessage(std::string(not_found), r));
  std::string msg =
      WithRegistryMessage(absl::StrCat(host, " answered ", r.status, " for ", what), r);
  if (r.status == 401) return absl::UnauthenticatedError(msg);
  if (r.status == 403) {
    return absl::PermissionDeniedError(
        WithRegistryMessage(absl::StrCat(host, " denied access to ", what), r));
  }
  if (r.status == 429) {
    return absl::ResourceExhaustedError(WithRegistryMessage(
        absl::StrCat(host, " is rate limiting requests (429 Too Many Requests) for ", what,
                     r.Header("retry-after")
                         ? absl::StrCat("; retry after ", *r.Header("retry-after"), " s")
                         : ""),
        r));
  }
  if (r.status >= 500) return absl::UnavailableError(msg);
  if (r.status == 400) return absl::InvalidArgumentError(msg);
  if (r.status == 405 || r.status == 501) return absl::UnimplementedError(msg);
  return absl::UnknownError(msg);
}

// Retry-After in seconds (an HTTP date is taken as "soon").
absl::Duration RetryAfter(const HttpResponse& r) {
  int64_t secs = 0;
  if (auto v = r.Header("retry-after"); v && absl::SimpleAtoi(*v, &secs) && secs >= 0) {
    return absl::Seconds(secs);
  }
  return absl::Seconds(1);
}

std::string MediaTypeOf(const HttpResponse& r) {
  std::string header = r.Header("content-type").value_or("");
  absl::string_view value = header;
  std::string type(absl::StripAsciiWhitespace(value.substr(0, value.find(';'))));
  if (!type.empty() && type != "application/json" && type != "text/plain") return type;
  // Some registries send application/json: the document says what it is.
  if (auto doc = json::Document::Parse(r.body, "manifest"); doc.ok()) {
    if (auto m = (*doc)->root().Get("mediaType").AsString(); m.ok() && !m->empty()) return *m;
  }
  return type;
}

// "bytes START-END/TOTAL" -> START.
std::optional<uint64_t> RangeStart(absl::string_view content_range) {
  absl::string_view v = absl::StripAsciiWhitespace(content_range);
  if (!absl::ConsumePrefix(&v, "bytes ")) return std::nullopt;
  uint64_t start = 0;
  if (!absl::SimpleAtoi(v.substr(0, v.find('-')), &start)) return std::nullopt;
  return start;
}

}  // namespace

std::string RegistryHost(absl::string_view domain) {
  if (domain == "docker.io" || domain == "index.docker.io") return "registry-1.docker.io";
  return std::string(domain);
}

bool PlainHttpAllowed(absl::string_view domain, const std::vector<std::string>& insecure) {
  std::string host = absl::AsciiStrToLower(HostPart(domain));
  if (host == "localhost" || host == "::1" || absl::StartsWith(host, "127.")) return true;
  for (const std::string& entry : insecure) {
    if (absl::EqualsIgnoreCase(entry, domain) || absl::EqualsIgnoreCase(entry, host)) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(RegistryOptions options) {
  CredentialStore credentials;
  if (!options.credentials_file.empty()) {
    auto loaded = CredentialStore::Load(options.credentials_file);
    if (!loaded.ok()) return Annotate(loaded.status(), "registry credentials");
    credentials = std::move(*loaded);
  }
  if (options.user_agent.empty()) options.user_agent = absl::StrCat("berthd/", kVersion);
  return std::unique_ptr<RegistryClient>(
      new RegistryClient(std::move(options), std::move(credentials)));
}

RegistryClient::RegistryClient(RegistryOptions options, CredentialStore credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {}

HttpRequest RegistryClient::BaseRequest() const {
  HttpRequest req;
  req.user_agent = options_.user_agent;
  req.ca_file = options_.ca_file;
  req.ca_dir = options_.ca_dir;
  req.connect_timeout = options_.connect_timeout;
  req.stall_timeout = options_.stall_timeout;
  req.cancel = &cancelled_;
  return req;
}

void RegistryClient::Sleep(absl::Duration d) const {
  absl::Time end = absl::Now() + d;
  while (!cancelled_.load() && absl::Now() < end) {
    absl::SleepFor(std::min(absl::Milliseconds(100), end - absl::Now()));
  }
}

std::string RegistryClient::BaseUrl(const std::string& domain) {
  std::string host = RegistryHost(domain);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = schemes_.find(host);
  return absl::StrCat(it == schemes_.end() ? "https" : it->second, "://", host);
}

std::string RegistryClient::CredentialsNote(const std::string& domain) const {
  if (auto c = credentials_.Lookup(domain)) {
    return absl::StrCat("the credentials of user \"", c->username, "\" from ",
                        credentials_.source(), " were used");
  }
  if (options_.credentials_file.empty()) return "no credentials were given (no credentials file)";
  return absl::StrCat("no credentials for ", domain, " are in ", options_.credentials_file);
}

std::string RegistryClient::AuthHeader(const std::string& host, const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = tokens_.find({host, scope}); it != tokens_.end()) {
    if (absl::Now() < it->second.expiry)
      return absl::StrCat("Authorization: Bearer ", it->second.token);
    tokens_.erase(it);
  }
  return "";
}

HttpResponse RegistryClient::GetFollowing(HttpRequest request, const std::string& auth,
                                          const std::string& auth_origin) {
  std::vector<std::string> base_headers = request.headers;
  HttpResponse r;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    request.headers = base_headers;
    auto origin = UrlOrigin(request.url);
    if (!auth.empty() && origin.ok() && *origin == auth_origin) request.headers.push_back(auth);
    r = http_.Get(request);
    if (r.transport != Transport::kOk || !IsRedirect(r.status)) return r;
    auto location = r.Header("location");
    if (!location) return r;
    auto next = ResolveUrl(request.url, *location);
    if (!next.ok()) {
      r.transport = Transport::kOther;
      r.error = std::string(next.status().message());
      return r;
    }
    log::Debug(absl::StrCat("registry: ", request.url, " redirects to ", *next));
    request.url = *next;
  }
  r.transport = Transport::kOther;
  r.error = absl::StrCat("more than ", kMaxRedirects, " redirects");
  return r;
}

absl::StatusOr<HttpResponse> RegistryClient::Send(const Call& call) {
  const Reference& ref = *call.ref;
  std::string host = RegistryHost(ref.domain);
  std::string scope = PullScope(ref.path);
  bool fresh_auth = false;
  int rate_limited = 0;
  bool fell_back = false;
  while (true) {
    if (cancelled_.load()) {
      return absl::CancelledError(absl::StrCat("request to ", host, " cancelled"));
    }
    HttpRequest req = BaseRequest();
    std::string base = BaseUrl(ref.domain);
    req.url = base + call.path;
    req.headers = call.headers;
    req.sink = call.sink;
    req.max_body = call.max_body;
    std::string auth = AuthHeader(host, scope);
    std::optional<Credentials> creds = credentials_.Lookup(ref.domain);
    bool basic = false;
    if (auth.empty() && creds) {
      std::lock_guard<std::mutex> lock(mu_);
      basic = basic_hosts_.count(host) > 0;
    }
    if (basic) {
      auth = absl::StrCat("Authorization: Basic ",
                          absl::Base64Escape(absl::StrCat(creds->username, ":", creds->password)));
    }
    auto origin = UrlOrigin(base);
    if (!origin.ok()) return origin.status();
    HttpResponse r = GetFollowing(std::move(req), auth, *origin);

    if (r.transport == Transport::kTlsHandshake && absl::StartsWith(base, "https:") && !fell_back &&
        PlainHttpAllowed(ref.domain, options_.insecure_hosts)) {
      // A plain HTTP server answers a TLS hello with garbage: use HTTP.
      log::Debug(absl::StrCat("registry: ", host, " does not speak TLS (", r.error,
                              "); using plain HTTP"));
      std::lock_guard<std::mutex> lock(mu_);
      schemes_[host] = "http";
      fell_back = true;
      continue;
    }
    if (r.transport != Transport::kOk) return r;
    if (r.status == 401) {
      if (fresh_auth) {
        return absl::UnauthenticatedError(
            WithRegistryMessage(absl::StrCat("authentication to ", host, " failed for ",
                                             ref.Repository(), ": ", CredentialsNote(ref.domain)),
                                r));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        tokens_.erase({host, scope});
      }
      BERTH_RETURN_IF_ERROR(Authorize(ref, scope, r));
      fresh_auth = true;
      continue;
    }
    if (r.status == 429 && rate_limited < options_.rate_limit_retries) {
      absl::Duration wait = RetryAfter(r);
      if (wait <= options_.max_retry_after) {
        ++rate_limited;
        log::Info(absl::StrCat("registry: ", host, " is rate limiting; retrying in ",
                               absl::FormatDuration(wait)));
        Sleep(wait);
        continue;
      }
    }
    return r;
  }
}

absl::Status RegistryClient::Authorize(const Reference& ref, const std::string& scope,
                                       const HttpResponse& response) {
  std::string host = RegistryHost(ref.domain);
  std::vector<Challenge> challenges;
  for (const std::string& h : response.AllHeaders("www-authenticate")) {
    for (Challenge& c : ParseChallenges(h)) challenges.push_back(std::move(c));
  }
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  if (bearer != nullptr && !bearer->Param("realm").empty()) {
    std::string token_scope = bearer->Param("scope").empty() ? scope : bearer->Param("scope");
    BERTH_ASSIGN_OR_RETURN(CachedToken token, FetchToken(ref, host, bearer->Param("realm"),
                                                         bearer->Param("service"), token_scope));
    std::lock_guard<std::mutex> lock(mu_);
    tokens_[{host, scope}] = std::move(token);
    return absl::OkStatus();
  }
  if (basic != nullptr) {
    if (!credentials_.Lookup(ref.domain)) {
      return absl::UnauthenticatedError(absl::StrCat(host, " requires authentication (Basic) for ",
                                                     ref.Repository(), ": ",
                                                     CredentialsNote(ref.domain)));
    }
    std::lock_guard<std::mutex> lock(mu_);
    basic_hosts_.insert(host);
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError(
      absl::StrCat(host, " answered 401 for ", ref.Repository(),
                   " without a challenge this client answers (WWW-Authenticate: ",
                   absl::StrJoin(response.AllHeaders("www-authenticate"), ", "), "); ",
                   CredentialsNote(ref.domain)));
}

absl::StatusOr<RegistryClient::CachedToken> RegistryClient::FetchToken(const Reference& ref,
                                                                       const std::string& host,
                                                                       const std::string& realm,
                                                                       const std::string& service,
                                                                       const std::string& scope) {
  HttpRequest req = BaseRequest();
  req.url = realm;
  std::vector<std::string> query;
  if (!service.empty()) query.push_back(absl::StrCat("service=", UrlEscape(service)));
  // A challenge may name several scopes separated by spaces.
  for (absl::string_view s : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
    query.push_back(absl::StrCat("scope=", UrlEscape(s)));
  }
  if (!query.empty()) {
    absl::StrAppend(&req.url, absl::StrContains(realm, '?') ? "&" : "?", absl::StrJoin(query, "&"));
  }
  std::string auth;
  std::optional<Credentials> creds = credentials_.Lookup(ref.domain);
  if (creds) {
    auth = absl::StrCat("Authorization: Basic ",
                        absl::Base64Escape(absl::StrCat(creds->username, ":", creds->password)));
  }
  auto origin = UrlOrigin(realm);
  if (!origin.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat(host, " named a bad token server \"", realm, "\""));
  }
  HttpResponse r = GetFollowing(std::move(req), auth, *origin);
  if (r.transport != Transport::kOk) {
    return Annotate(TransportError(r, realm), absl::StrCat("token for ", host));
  }
  if (r.status == 401 || r.status == 403) {
    return absl::UnauthenticatedError(WithRegistryMessage(
        absl::StrCat("the token server ", realm, " refused a token for ", ref.Repository(), " on ",
                     host, " (", r.status, "): ", CredentialsNote(ref.domain)),
        r));
  }
  if (r.status != 200) {
    return HttpError(r, realm, absl::StrCat("a token for ", ref.Repository()),
                     absl::StrCat("the token server ", realm, " for ", host, " was not found"));
  }
  BERTH_ASSIGN_OR_RETURN(Token token, ParseTokenResponse(r.body, realm));
  // Renew a little early: the registry checks expiry on its own clock.
  absl::Duration margin = std::min(absl::Seconds(10), token.expires_in / 10);
  return CachedToken{std::move(token.token), absl::Now() + token.expires_in - margin};
}

absl::StatusOr<FetchedManifest> RegistryClient::FetchManifest(const Reference& ref,
                                                              absl::string_view object) {
  bool by_digest = absl::StrContains(object, ':');
  if (by_digest) BERTH_RETURN_IF_ERROR(CheckDigest(object, "manifest digest"));
  std::string name = absl::StrCat(ref.Repository(), by_digest ? "@" : ":", object);
  std::string host = RegistryHost(ref.domain);
  Call call;
  call.ref = &ref;
  call.path = absl::StrCat("/v2/", ref.path, "/manifests/", object);
  call.headers = {kManifestAccept};
  call.max_body = kMaxManifestSize;
  BERTH_ASSIGN_OR_RETURN(HttpResponse r, Send(call));
  if (r.transport != Transport::kOk) {
    if (r.body_too_large) {
      return absl::InvalidArgumentError(absl::StrCat("the manifest for ", name, " is larger than ",
                                                     kMaxManifestSize, " bytes: refused"));
    }
    return Annotate(TransportError(r, host), absl::StrCat("manifest for ", name));
  }
  if (r.status != 200) {
    return HttpError(r, host, absl::StrCat("the manifest for ", name),
                     absl::StrCat("manifest for ", name, " not found"));
  }
  FetchedManifest m;
  m.digest = Sha256::Of(r.body);
  if (by_digest && m.digest != object) {
    return absl::DataLossError(absl::StrCat("the manifest for ", name, " from ", host,
                                            " does not match its digest: its content hashes to ",
                                            m.digest));
  }
  m.media_type = MediaTypeOf(r);
  m.bytes = std::move(r.body);
  return m;
}

absl::Status RegistryClient::FetchBlob(const Reference& ref, const std::string& digest,
                                       uint64_t size, ContentStore::Writer& writer,
                                       std::function<void(uint64_t bytes)> progress) {
  BERTH_RETURN_IF_ERROR(CheckDigest(digest, "blob digest"));
  std::string host = RegistryHost(ref.domain);
  const uint64_t start = writer.written();
  uint64_t written = start;  // of the whole blob, in the writer
  absl::Duration delay = options_.retry_delay;
  absl::Status last;
  for (int attempt = 1; attempt <= std::max(1, options_.blob_attempts); ++attempt) {
    bool first_chunk = true;
    uint64_t skip = 0;  // bytes the server re-sends that the writer already has
    Call call;
    call.ref = &ref;
    call.path = absl::StrCat("/v2/", ref.path, "/blobs/", digest);
    if (written > 0) call.headers.push_back(absl::StrCat("Range: bytes=", written, "-"));
    call.sink = [&](const HttpResponse& head, absl::string_view data) -> absl::Status {
      if (first_chunk) {
        first_chunk = false;
        skip = written;  // a 200 sends the whole blob again
        if (head.status == 206) {
          std::optional<uint64_t> from = RangeStart(head.Header("content-range").value_or(""));
          if (!from || *from > written) {
            return absl::DataLossError(
                absl::StrCat(host, " resumed blob ", digest, " at a wrong offset (Content-Range: ",
                             head.Header("content-range").value_or(""), ")"));
          }
          skip = written - *from;
        }
      }
      if (skip > 0) {
        size_t n = std::min<uint64_t>(skip, data.size());
        data.remove_prefix(n);
        skip -= n;
      }
      if (data.empty()) return absl::OkStatus();
      BERTH_RETURN_IF_ERROR(writer.Write(data));
      written += data.size();
      if (progress) progress(written);
      return absl::OkStatus();
    };
    BERTH_ASSIGN_OR_RETURN(HttpResponse r, Send(call));
    bool transient = false;
    if (r.transport == Transport::kOk && (r.status == 200 || r.status == 206)) {
      // The server says that was all: a blob shorter than its descriptor is
      // Commit()'s error to report (size), not worth another try.
      return absl::OkStatus();
    } else if (r.transport == Transport::kBroken) {
      if (written >= size && size > 0) return absl::OkStatus();
      last = TransportError(r, host);
      transient = true;
    } else if (r.transport != Transport::kOk) {
      return Annotate(TransportError(r, host), absl::StrCat("blob ", digest));
    } else if (r.status == 416 && written >= size) {
      return absl::OkStatus();  // nothing left to send
    } else {
      last =
          HttpError(r, host, absl::StrCat("blob ", digest, " of ", ref.Repository()),
                    absl::StrCat("blob ", digest, " not found in repository ", ref.Repository()));
      transient = r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
    }
    if (!transient) return last;
    if (attempt < options_.blob_attempts) {
      log::Warn(absl::StrCat("registry: blob ", digest, " from ", host, ": ", last.message(),
                             "; retrying from byte ", written, " (attempt ", attempt + 1, " of ",
                             options_.blob_attempts, ")"));
      Sleep(delay);
      delay *= 2;
    }
  }
  return absl::UnavailableError(absl::StrCat("blob ", digest, " from ", host, ": giving up after ",
                                             options_.blob_attempts,
                                             " attempts: ", last.message()));
}

}  // namespace berth::supervisor::registry
