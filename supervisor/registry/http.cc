#include "supervisor/registry/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::supervisor::registry {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;
// Idle handles kept (about the blobs fetched at once).
constexpr size_t kMaxIdleHandles = 8;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

struct Transfer {
  CURL* handle;
  const HttpRequest* request;
  HttpResponse* response;
};

bool Is2xx(long status) { return status >= 200 && status < 300; }

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * n);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    t->response->headers.clear();  // a new response (after 100 Continue, a proxy's CONNECT)
  } else if (size_t colon = line.find(':'); colon != line.npos) {
    t->response->headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view chunk(data, size * n);
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  HttpResponse& r = *t->response;
  r.status = status;
  if (Is2xx(status) && t->request->sink) {
    r.sink_status = t->request->sink(r, chunk);
    return r.sink_status.ok() ? chunk.size() : 0;
  }
  size_t limit = Is2xx(status) ? t->request->max_body : kMaxErrorBody;
  if (r.body.size() + chunk.size() > limit) {
    if (Is2xx(status)) {
      r.body_too_large = true;
      return 0;  // abort
    }
    chunk = chunk.substr(0, limit - r.body.size());  // an error page: keep its start
  }
  r.body.append(chunk.data(), chunk.size());
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load() ? 1 : 0;  // non-zero aborts with CURLE_ABORTED_BY_CALLBACK
}

Transport Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Transport::kOk;
    case CURLE_SSL_CONNECT_ERROR:
      return Transport::kTlsHandshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return Transport::kTlsVerify;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Transport::kConnect;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Transport::kBroken;
    case CURLE_WRITE_ERROR:
      return Transport::kAborted;
    case CURLE_ABORTED_BY_CALLBACK:
      return Transport::kCancelled;
    default:
      return Transport::kOther;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::AllHeaders(absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // keeps its connections and TLS sessions
      return h;
    }
  }
  GlobalInit();
  return curl_easy_init();
}

void HttpClient::Release(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

HttpResponse HttpClient::Get(const HttpRequest& request) {
  HttpResponse response;
  std::unique_ptr<CURL, EasyDeleter> h(static_cast<CURL*>(Acquire()));
  if (!h) {
    response.transport = Transport::kOther;
    response.error = "curl_easy_init failed";
    return response;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : request.headers) {
    curl_slist* l = curl_slist_append(headers.get(), header.c_str());
    if (l != nullptr) {
      headers.release();
      headers.reset(l);
    }
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  Transfer t{h.get(), &request, &response};
  CURL* c = h.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (!request.user_agent.empty())
    curl_easy_setopt(c, CURLOPT_USERAGENT, request.user_agent.c_str());
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.ca_dir.empty()) curl_easy_setopt(c, CURLOPT_CAPATH, request.ca_dir.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(request.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(absl::ToInt64Seconds(request.stall_timeout))));
  if (request.cancel != nullptr) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, request.cancel);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  CURLcode code = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  if (code != CURLE_OK) {
    response.transport = Classify(code);
    response.error = errbuf[0] != '\0' ? std::string(absl::StripTrailingAsciiWhitespace(errbuf))
                                       : std::string(curl_easy_strerror(code));
    if (response.transport == Transport::kAborted && response.sink_status.ok() &&
        !response.body_too_large) {
      response.transport = Transport::kOther;
    }
  }
  Release(h.release());
  return response;
}

absl::StatusOr<std::string> ResolveUrl(absl::string_view base, absl::string_view location) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  std::string b(base), l(location);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.get(), CURLUPART_URL, l.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve the redirect \"", location, "\" against ", base));
  }
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("bad redirect \"", location, "\""));
  }
  std::string s(out);
  curl_free(out);
  return s;
}

absl::StatusOr<std::string> UrlOrigin(absl::string_view url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  std::string s(url);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\""));
  }
  std::string parts[3];
  CURLUPart which[3] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
  for (int i = 0; i < 3; ++i) {
    char* out = nullptr;
    if (curl_url_get(u.get(), which[i], &out, i == 2 ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK) {
      return absl::InvalidArgumentError(absl::StrCat("bad URL \"", url, "\""));
    }
    parts[i] = absl::AsciiStrToLower(out);
    curl_free(out);
  }
  return absl::StrCat(parts[0], "://", parts[1], ":", parts[2]);
}

std::string UrlEscape(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

}  // namespace berth::supervisor::registry
