#include "runtime/linux/seccomp_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/file_util.h"
#include "runtime/spec/parser.h"

namespace berth::linux_ns {
namespace {

spec::Seccomp Parse(absl::string_view seccomp) {
  std::string json =
      absl::StrCat(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}, "linux": {"seccomp": )",
                   seccomp, "}}");
  absl::StatusOr<spec::Spec> s = spec::ParseSpec(json);
  INFO(json);
  if (!s.ok()) FAIL(s.status().message());
  REQUIRE(s->linux_cfg.seccomp.has_value());
  return *s->linux_cfg.seccomp;
}

// Deny by default with an errno, three architectures, argument conditions
// (one masked), a second errno and a flag: what Docker's profile exercises.
constexpr char kProfile[] = R"({
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
  "syscalls": [
    {"names": ["read", "write", "exit_group", "execve", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]})";

constexpr char kNotifyProfile[] = R"({
  "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
  "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})";

class TempRoot {
 public:
  TempRoot() {
    char tmpl[] = "/tmp/berth-seccomp-cache-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempRoot() { std::system(absl::StrCat("rm -rf ", path_).c_str()); }
  const std::string& path() const { return path_; }
  std::string cache_dir() const { return absl::StrCat(path_, "/", kSeccompCacheDir); }
  std::string entry(absl::string_view key) const {
    return absl::StrCat(cache_dir(), "/", absl::BytesToHexString(key));
  }
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(cache_dir().c_str())) {
      while (struct dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') out.emplace_back(e->d_name);
      }
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

std::string Bytes(const SeccompProgram& p) {
  return std::string(reinterpret_cast<const char*>(p.bpf.data()),
                     p.bpf.size() * sizeof(struct sock_filter));
}

void WriteRaw(const std::string& path, absl::string_view data, mode_t mode = 0600) {
  REQUIRE(WriteFileAtomic(path, data, mode).ok());
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// A valid program that is not the profile's: allow everything.
SeccompProgram AllowAll() {
  SeccompProgram p;
  p.bpf = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  return p;
}

TEST_CASE("seccomp cache: an entry decodes to what was encoded, and nothing else does",
          "[seccomp-cache]") {
  spec::Seccomp config = Parse(kProfile);
  absl::StatusOr<SeccompProgram> p = CompileSeccomp(config);
  REQUIRE(p.ok());
  std::string key = SeccompCacheKey(config);
  REQUIRE(key.size() == 32);
  std::string entry = EncodeSeccompCacheEntry(key, *p);
  CHECK(entry.size() == 88 + p->bpf.size() * 8);
  std::optional<SeccompProgram> back = DecodeSeccompCacheEntry(entry, key);
  REQUIRE(back.has_value());
  CHECK(Bytes(*back) == Bytes(*p));
  CHECK(back->flags == p->flags);

  std::string other_key = key;
  other_key[0] ^= 1;
  CHECK_FALSE(DecodeSeccompCacheEntry(entry, other_key).has_value());
  // Every byte counts: magic, version, flags, length, key, checksum, program.
  for (size_t i = 0; i < entry.size(); ++i) {
    std::string flipped = entry;
    flipped[i] ^= 0x20;
    INFO("byte " << i);
    CHECK_FALSE(DecodeSeccompCacheEntry(flipped, key).has_value());
  }
  for (size_t n :
       {size_t{0}, size_t{8}, size_t{87}, size_t{88}, entry.size() - 8, entry.size() - 1}) {
    INFO("truncated to " << n);
    CHECK_FALSE(DecodeSeccompCacheEntry(absl::string_view(entry).substr(0, n), key).has_value());
  }
  CHECK_FALSE(DecodeSeccompCacheEntry(entry + std::string(8, '\0'), key).has_value());
}

TEST_CASE("seccomp cache: the key is the profile and what compiles it", "[seccomp-cache]") {
  std::string base = SeccompCacheKey(Parse(kProfile));
  CHECK(SeccompCacheKey(Parse(kProfile)) == base);
  std::string material = SeccompCacheKeyMaterial(Parse(kProfile));
  for (const char* part : {"\"berth\":", "\"commit\":", "\"buildId\":", "\"libseccomp\":",
                           "\"kernel\":", "\"actionsAvail\":", "\"profile\":"}) {
    CHECK(material.find(part) != std::string::npos);
  }
  auto changed = [&](const std::string& from, const std::string& to) {
    std::string text = kProfile;
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    return SeccompCacheKey(Parse(text)) != base;
  };
  CHECK(changed("\"defaultErrnoRet\": 38", "\"defaultErrnoRet\": 1"));
  CHECK(changed("\"SCMP_ARCH_X86\", ", ""));
  CHECK(changed("SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"));
  CHECK(changed("\"value\": 8,", "\"value\": 9,"));
  CHECK(changed("\"valueTwo\": 0", "\"valueTwo\": 1"));
  CHECK(changed("SCMP_CMP_EQ", "SCMP_CMP_NE"));
  CHECK(changed("\"errnoRet\": 1", "\"errnoRet\": 2"));
  CHECK(changed("\"read\", \"write\"", "\"write\", \"read\""));
  // What never reaches the program does not split the cache.
  spec::Seccomp with_listener = Parse(kProfile);
  with_listener.listener_path = "/run/other.sock";
  with_listener.listener_metadata = "meta";
  CHECK(SeccompCacheKey(with_listener) == base);
}

TEST_CASE("seccomp cache: a cached program is the fresh compile, byte for byte",
          "[seccomp-cache]") {
  for (const char* profile : {kProfile, kNotifyProfile}) {
    TempRoot root;
    spec::Seccomp config = Parse(profile);
    absl::StatusOr<SeccompProgram> fresh = CompileSeccomp(config);
    REQUIRE(fresh.ok());
    SeccompCache cache = SeccompCache::Open(root.path());
    REQUIRE(cache.enabled());
    absl::StatusOr<SeccompProgram> cold = CompileSeccompCached(config, cache);
    REQUIRE(cold.ok());
    std::string key = SeccompCacheKey(config);
    REQUIRE(cache.Lookup(key).has_value());
    absl::StatusOr<SeccompProgram> warm = CompileSeccompCached(config, cache);
    REQUIRE(warm.ok());
    for (const SeccompProgram* p : {&*cold, &*warm}) {
      CHECK(Bytes(*p) == Bytes(*fresh));
      CHECK(p->flags == fresh->flags);
      CHECK(p->notify() == fresh->notify());
    }
    CHECK(fresh->notify() == (profile == kNotifyProfile));
    struct stat st;
    REQUIRE(::stat(root.cache_dir().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat(root.entry(key).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(root.Files() == std::vector<std::string>{absl::BytesToHexString(key)});
  }
}

TEST_CASE("seccomp cache: the warm program comes from the entry, a bad entry is replaced",
          "[seccomp-cache]") {
  TempRoot root;
  spec::Seccomp config = Parse(kProfile);
  absl::StatusOr<SeccompProgram> fresh = CompileSeccomp(config);
  REQUIRE(fresh.ok());
  std::string key = SeccompCacheKey(config);
  SeccompCache cache = SeccompCache::Open(root.path());
  REQUIRE(CompileSeccompCached(config, cache).ok());
  std::string good = *ReadFile(root.entry(key));
  CHECK(good == EncodeSeccompCacheEntry(key, *fresh));

  // A valid entry with another program is used: the cache is really read.
  WriteRaw(root.entry(key), EncodeSeccompCacheEntry(key, AllowAll()));
  CHECK(Bytes(*CompileSeccompCached(config, cache)) == Bytes(AllowAll()));

  SECTION("a flipped byte") {
    std::string bad = good;
    bad[bad.size() - 3] ^= 1;
    WriteRaw(root.entry(key), bad);
  }
  SECTION("truncated") { WriteRaw(root.entry(key), good.substr(0, good.size() - 8)); }
  SECTION("empty") { WriteRaw(root.entry(key), ""); }
  SECTION("group- or other-writable") {
    WriteRaw(root.entry(key), EncodeSeccompCacheEntry(key, AllowAll()), 0622);
  }
  SECTION("a symlink to a valid entry") {
    std::string elsewhere = absl::StrCat(root.path(), "/forged");
    WriteRaw(elsewhere, EncodeSeccompCacheEntry(key, AllowAll()));
    REQUIRE(::unlink(root.entry(key).c_str()) == 0);
    REQUIRE(::symlink(elsewhere.c_str(), root.entry(key).c_str()) == 0);
  }
  SECTION("a directory") {
    REQUIRE(::unlink(root.entry(key).c_str()) == 0);
    REQUIRE(::mkdir(root.entry(key).c_str(), 0700) == 0);
  }
  absl::StatusOr<SeccompProgram> again = CompileSeccompCached(config, cache);
  REQUIRE(again.ok());
  CHECK(Bytes(*again) == Bytes(*fresh));
  CHECK(again->flags == fresh->flags);
  struct stat st;
  if (::lstat(root.entry(key).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return;  // not ours to remove
  CHECK(*ReadFile(root.entry(key)) == good);
  CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("seccomp cache: an untrusted directory is not used", "[seccomp-cache]") {
  TempRoot root;
  spec::Seccomp config = Parse(kProfile);
  std::string key = SeccompCacheKey(config);
  REQUIRE(::mkdir(root.cache_dir().c_str(), 0700) == 0);
  WriteRaw(root.entry(key), EncodeSeccompCacheEntry(key, AllowAll()));
  SECTION("writable by others") { REQUIRE(::chmod(root.cache_dir().c_str(), 0777) == 0); }
  SECTION("writable by its group") { REQUIRE(::chmod(root.cache_dir().c_str(), 0770) == 0); }
  SECTION("owned by another user") {
    if (::geteuid() != 0) return;  // needs root to chown
    REQUIRE(::chown(root.cache_dir().c_str(), 1000, 1000) == 0);
  }
  SECTION("an entry owned by another user") {
    if (::geteuid() != 0) return;  // needs root to chown
    REQUIRE(::chown(root.entry(key).c_str(), 1000, 1000) == 0);
    absl::StatusOr<SeccompProgram> p =
        CompileSeccompCached(config, SeccompCache::Open(root.path()));
    REQUIRE(p.ok());
    CHECK(Bytes(*p) == Bytes(*CompileSeccomp(config)));
    return;
  }
  SECTION("a symlink to a trusted directory") {
    std::string real = absl::StrCat(root.path(), "/real");
    REQUIRE(::rename(root.cache_dir().c_str(), real.c_str()) == 0);
    REQUIRE(::symlink(real.c_str(), root.cache_dir().c_str()) == 0);
  }
  SeccompCache cache = SeccompCache::Open(root.path());
  CHECK_FALSE(cache.enabled());
  absl::StatusOr<SeccompProgram> p = CompileSeccompCached(config, cache);
  REQUIRE(p.ok());
  CHECK(Bytes(*p) == Bytes(*CompileSeccomp(config)));
}

TEST_CASE("seccomp cache: at most 64 entries, the oldest evicted", "[seccomp-cache]") {
  TempRoot root;
  SeccompCache cache = SeccompCache::Open(root.path());
  REQUIRE(cache.enabled());
  std::vector<std::string> keys;
  for (int i = 0; i < 70; ++i) {
    std::string key(32, '\0');
    key[0] = static_cast<char>(i);
    keys.push_back(key);
    cache.Store(key, AllowAll());
    // Distinct mtimes, oldest first in key order.
    struct timespec times[2] = {{1000000 + i, 0}, {1000000 + i, 0}};
    REQUIRE(::utimensat(AT_FDCWD, root.entry(key).c_str(), times, 0) == 0);
  }
  // A stale temp file of a writer that died is removed too.
  std::string temp = absl::StrCat(root.cache_dir(), "/.tmp-1-dead");
  WriteRaw(temp, "x");
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, temp.c_str(), old, 0) == 0);
  std::string last(32, '\x7f');
  cache.Store(last, AllowAll());
  CHECK(root.Files().size() == kSeccompCacheMaxEntries);
  for (int i = 0; i < 7; ++i) CHECK_FALSE(cache.Lookup(keys[i]).has_value());
  for (int i = 7; i < 70; ++i) CHECK(cache.Lookup(keys[i]).has_value());
  CHECK(cache.Lookup(last).has_value());
  CHECK(::access(temp.c_str(), F_OK) != 0);
}

TEST_CASE("seccomp cache: none without a root", "[seccomp-cache]") {
  CHECK_FALSE(SeccompCache::Open("").enabled());
  CHECK_FALSE(SeccompCache::Open("/nonexistent/berth-root").enabled());
  spec::Seccomp config = Parse(kProfile);
  absl::StatusOr<SeccompProgram> p = CompileSeccompCached(config, SeccompCache());
  REQUIRE(p.ok());
  CHECK(Bytes(*p) == Bytes(*CompileSeccomp(config)));
}

}  // namespace
}  // namespace berth::linux_ns
