#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "supervisor/registry/auth.h"
#include "supervisor/registry/credentials.h"
#include "supervisor/registry/http.h"
#include "supervisor/registry/registry_client.h"

namespace berth::supervisor::registry {
namespace {

CredentialStore MustParse(absl::string_view text) {
  auto store = CredentialStore::Parse(text, "config.json");
  REQUIRE(store.ok());
  return std::move(*store);
}

std::string Auth(absl::string_view user_pass) { return absl::Base64Escape(user_pass); }

TEST_CASE("ParseChallenges reads a Bearer challenge", "[registry]") {
  auto c =
      ParseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:library/busybox:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].Param("realm") == "https://auth.docker.io/token");
  CHECK(c[0].Param("service") == "registry.docker.io");
  CHECK(c[0].Param("scope") == "repository:library/busybox:pull");
  CHECK(c[0].Param("error").empty());
}

TEST_CASE("ParseChallenges reads Basic, spaces, case and escapes", "[registry]") {
  auto c = ParseChallenges(R"(basic  Realm = "my \"registry\"" , charset="UTF-8")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].Param("realm") == "my \"registry\"");
  CHECK(c[0].Param("charset") == "UTF-8");
}

TEST_CASE("ParseChallenges splits several challenges", "[registry]") {
  auto c = ParseChallenges(
      R"(Basic realm="r1", Bearer realm="https://t/token",service=reg,scope="a:b:pull a:c:pull")");
  REQUIRE(c.size() == 2);
  CHECK(c[0].scheme == "basic");
  CHECK(c[0].Param("realm") == "r1");
  CHECK(c[1].scheme == "bearer");
  CHECK(c[1].Param("service") == "reg");
  CHECK(c[1].Param("scope") == "a:b:pull a:c:pull");
}

TEST_CASE("ParseChallenges keeps the error of an insufficient-scope challenge", "[registry]") {
  auto c = ParseChallenges(
      R"(Bearer realm="https://t",error="insufficient_scope",scope="repository:x:pull")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].Param("error") == "insufficient_scope");
}

TEST_CASE("ParseChallenges of nothing useful gives no challenge", "[registry]") {
  CHECK(ParseChallenges("").empty());
  CHECK(ParseChallenges("  , ,").empty());
  CHECK(ParseChallenges("realm=\"x\"").empty());
  auto c = ParseChallenges("Negotiate");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "negotiate");
  CHECK(c[0].params.empty());
}

TEST_CASE("ParseTokenResponse takes token or access_token and expires_in", "[registry]") {
  auto t = ParseTokenResponse(R"({"token":"abc","expires_in":300})", "https://t");
  REQUIRE(t.ok());
  CHECK(t->token == "abc");
  CHECK(t->expires_in == absl::Seconds(300));
  t = ParseTokenResponse(R"({"access_token":"xyz"})", "https://t");
  REQUIRE(t.ok());
  CHECK(t->token == "xyz");
  CHECK(t->expires_in == absl::Seconds(60));
  t = ParseTokenResponse(R"({"token":"","access_token":"second"})", "https://t");
  REQUIRE(t.ok());
  CHECK(t->token == "second");
}

TEST_CASE("ParseTokenResponse errors name the token server", "[registry]") {
  auto t = ParseTokenResponse(R"({"expires_in":3})", "https://auth.example/token");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(std::string(t.status().message()).find("https://auth.example/token") != std::string::npos);
  CHECK_FALSE(ParseTokenResponse("not json", "https://t").ok());
}

TEST_CASE("PullScope", "[registry]") {
  CHECK(PullScope("library/busybox") == "repository:library/busybox:pull");
}

TEST_CASE("NormalizeRegistryKey reduces keys to host[:port]", "[registry]") {
  CHECK(NormalizeRegistryKey("localhost:5000") == "localhost:5000");
  CHECK(NormalizeRegistryKey("https://Registry.Example.com:443/v2/") == "registry.example.com:443");
  CHECK(NormalizeRegistryKey("http://127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(NormalizeRegistryKey("https://index.docker.io/v1/") == "docker.io");
  CHECK(NormalizeRegistryKey("registry-1.docker.io") == "docker.io");
  CHECK(NormalizeRegistryKey("docker.io") == "docker.io");
}

TEST_CASE("CredentialStore looks up auth and username/password entries", "[registry]") {
  std::string text = R"({"auths": {
      "localhost:5000": {"auth": ")" +
                     Auth("alice:pa:ss") + R"("},
      "https://index.docker.io/v1/": {"username": "bob", "password": "hub"},
      "https://quay.io": {"auth": "", "username": "carol", "password": "q"},
      "helper.example": {},
      "ghcr.io": {"identitytoken": "only a token"}
    }, "credsStore": "desktop"})";
  CredentialStore store = MustParse(text);
  auto a = store.Lookup("localhost:5000");
  REQUIRE(a);
  CHECK(a->username == "alice");
  CHECK(a->password == "pa:ss");  // split at the first colon
  auto b = store.Lookup("docker.io");
  REQUIRE(b);
  CHECK(b->username == "bob");
  CHECK(b->password == "hub");
  auto c = store.Lookup("quay.io");
  REQUIRE(c);
  CHECK(c->username == "carol");
  CHECK_FALSE(store.Lookup("localhost:5001"));
  CHECK_FALSE(store.Lookup("localhost"));
  CHECK_FALSE(store.Lookup("helper.example"));
  CHECK_FALSE(store.Lookup("ghcr.io"));
  CHECK(store.source() == "config.json");
}

TEST_CASE("CredentialStore without auths is empty", "[registry]") {
  CHECK(MustParse("{}").empty());
  CHECK(MustParse(R"({"auths": null})").empty());
}

TEST_CASE("CredentialStore errors name the file and the entry", "[registry]") {
  auto bad = CredentialStore::Parse(R"({"auths": {"h": {"auth": "%%%"}}})", "/etc/cfg.json");
  REQUIRE_FALSE(bad.ok());
  std::string msg(bad.status().message());
  CHECK(msg.find("/etc/cfg.json") != std::string::npos);
  CHECK(msg.find("base64") != std::string::npos);
  bad = CredentialStore::Parse(R"({"auths": {"h": {"auth": ")" + Auth("nocolon") + R"("}}})",
                               "c.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("user:password") != std::string::npos);
  CHECK_FALSE(CredentialStore::Parse(R"({"auths": []})", "c.json").ok());
  CHECK_FALSE(CredentialStore::Parse("[", "c.json").ok());
}

TEST_CASE("Plain HTTP is allowed for loopback and insecure hosts only", "[registry]") {
  CHECK(PlainHttpAllowed("localhost:5000", {}));
  CHECK(PlainHttpAllowed("localhost", {}));
  CHECK(PlainHttpAllowed("127.0.0.1:5000", {}));
  CHECK(PlainHttpAllowed("127.1.2.3", {}));
  CHECK(PlainHttpAllowed("[::1]:5000", {}));
  CHECK_FALSE(PlainHttpAllowed("registry.example.com", {}));
  CHECK_FALSE(PlainHttpAllowed("localhost.example.com", {}));
  CHECK_FALSE(PlainHttpAllowed("docker.io", {}));
  CHECK(PlainHttpAllowed("reg.lan:5000", {"reg.lan:5000"}));
  CHECK(PlainHttpAllowed("reg.lan:5000", {"reg.lan"}));
  CHECK_FALSE(PlainHttpAllowed("reg.lan:5000", {"reg.lan:5001"}));
}

TEST_CASE("RegistryHost maps Docker Hub", "[registry]") {
  CHECK(RegistryHost("docker.io") == "registry-1.docker.io");
  CHECK(RegistryHost("quay.io") == "quay.io");
}

TEST_CASE("URL helpers", "[registry]") {
  CHECK(UrlEscape("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull");
  CHECK(UrlEscape("a-b_c.d~") == "a-b_c.d~");
  CHECK(*UrlOrigin("https://Reg.Example/v2/x") == "https://reg.example:443");
  CHECK(*UrlOrigin("http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000");
  CHECK(*ResolveUrl("https://r.example/v2/a/blobs/x", "/other?x=1") ==
        "https://r.example/other?x=1");
  CHECK(*ResolveUrl("https://r.example/v2/a", "https://s3.example/b") == "https://s3.example/b");
}

}  // namespace
}  // namespace berth::supervisor::registry
