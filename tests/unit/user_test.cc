#include "runtime/linux/user.h"

#include <sys/types.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace berth::linux_ns {
namespace {

using Gids = std::vector<gid_t>;

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"
    "nohome:x:1001:1001:No Home::/bin/sh\n"
    "bob:x:1002:1002::/home/bob:/bin/sh\n";

constexpr char kGroup[] =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "wheel:x:10:root,alice\n"
    "audio:x:29:bob,alice\n"
    "video:x:44:bob\n"
    "alice:x:1000:\n"
    "users:x:100:alicex,xalice\n"
    "staff:x:50:alice\n";

TEST_CASE("ResolveUser takes home and groups of a known uid", "[user]") {
  ExecUser u = ResolveUser(1000, kPasswd, kGroup, {});
  CHECK(u.home == "/home/alice");
  CHECK(u.groups == Gids{10, 29, 50});
}

TEST_CASE("ResolveUser resolves root and system users", "[user]") {
  ExecUser root = ResolveUser(0, kPasswd, kGroup, {});
  CHECK(root.home == "/root");
  CHECK(root.groups == Gids{10});

  ExecUser daemon = ResolveUser(1, kPasswd, kGroup, {});
  CHECK(daemon.home == "/usr/sbin");
  CHECK(daemon.groups.empty());
}

TEST_CASE("ResolveUser matches group members by whole name", "[user]") {
  ExecUser u = ResolveUser(1000, kPasswd, kGroup, {});
  CHECK(std::find(u.groups.begin(), u.groups.end(), 100u) == u.groups.end());
}

TEST_CASE("ResolveUser appends additionalGids without duplicates", "[user]") {
  ExecUser u = ResolveUser(1000, kPasswd, kGroup, {29, 5, 10, 7, 5});
  CHECK(u.home == "/home/alice");
  CHECK(u.groups == Gids{10, 29, 50, 5, 7});
}

TEST_CASE("ResolveUser of an unknown uid has home / and only the additional gids", "[user]") {
  ExecUser u = ResolveUser(4242, kPasswd, kGroup, {3, 1000, 3});
  CHECK(u.home == "/");
  CHECK(u.groups == Gids{3, 1000});

  ExecUser none = ResolveUser(4242, kPasswd, kGroup, {});
  CHECK(none.home == "/");
  CHECK(none.groups.empty());
}

TEST_CASE("ResolveUser with empty files", "[user]") {
  ExecUser u = ResolveUser(0, "", "", {1, 2});
  CHECK(u.home == "/");
  CHECK(u.groups == Gids{1, 2});
}

TEST_CASE("ResolveUser keeps / when the passwd home field is empty", "[user]") {
  ExecUser u = ResolveUser(1001, kPasswd, kGroup, {});
  CHECK(u.home == "/");
  CHECK(u.groups.empty());
}

TEST_CASE("ResolveUser takes the first passwd entry of a uid", "[user]") {
  ExecUser u = ResolveUser(0, "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/toor:/bin/sh\n",
                           "g:x:5:toor\nh:x:6:root\n", {});
  CHECK(u.home == "/root");
  CHECK(u.groups == Gids{6});
}

TEST_CASE("ResolveUser skips malformed passwd lines", "[user]") {
  constexpr char kBadPasswd[] =
      "# comment\n"
      "short:x:1000\n"
      "six:x:1000:1000::/six\n"
      "nonnum:x:abc:1000::/nonnum:/bin/sh\n"
      "neg:x:-1000:1000::/neg:/bin/sh\n"
      "\n"
      "alice:x:1000:1000::/home/alice:/bin/sh";  // no final newline
  ExecUser u = ResolveUser(1000, kBadPasswd, "wheel:x:10:alice\n", {});
  CHECK(u.home == "/home/alice");
  CHECK(u.groups == Gids{10});
}

TEST_CASE("ResolveUser skips malformed group lines", "[user]") {
  constexpr char kBadGroup[] =
      "short:x:11\n"
      "nonnum:x:abc:alice\n"
      "neg:x:-5:alice\n"
      "toobig:x:4294967296:alice\n"
      "\n"
      "good:x:12:bob,alice,carol\n"
      "extra:x:13:alice:junk";
  ExecUser u = ResolveUser(1000, kPasswd, kBadGroup, {});
  CHECK(u.groups == Gids{12, 13});
}

TEST_CASE("ResolveUser ignores group memberships of a user not in passwd", "[user]") {
  ExecUser u = ResolveUser(3000, kPasswd, "g:x:7:ghost\n", {});
  CHECK(u.groups.empty());
}

TEST_CASE("ResolveUser lists a group once even if the user is named twice in it", "[user]") {
  ExecUser u = ResolveUser(1000, kPasswd, "dup:x:20:alice,alice\n", {});
  CHECK(u.groups == Gids{20});
}

}  // namespace
}  // namespace berth::linux_ns
