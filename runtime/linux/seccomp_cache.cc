#include "runtime/linux/seccomp_cache.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

// The low-level SHA-256 of libcrypto (linked statically): the EVP interface
// would initialise OpenSSL's providers and read its config file at every
// start.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/version.h"

namespace berth::linux_ns {
namespace {

constexpr char kMagic[8] = {'B', 'E', 'R', 'T', 'H', 'S', 'C', '1'};
constexpr size_t kKeyOffset = 24;
constexpr size_t kSumOffset = 56;
constexpr size_t kHeaderSize = 88;
constexpr size_t kMaxEntrySize = kHeaderSize + BPF_MAXINSNS * sizeof(struct sock_filter);
constexpr char kTempPrefix[] = ".tmp-";
// A hit on an entry older than this refreshes its mtime, so that eviction
// (oldest first) spares the profiles in use.
constexpr time_t kRefreshAfterSeconds = 3600;
// Temp files of a writer that died are removed after this.
constexpr time_t kStaleTempSeconds = 60;

std::string Sha256(absl::string_view a, absl::string_view b = {}) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, a.data(), a.size());
  SHA256_Update(&ctx, b.data(), b.size());
  SHA256_Final(md, &ctx);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

void PutU32(std::string* out, size_t at, uint32_t v) { std::memcpy(out->data() + at, &v, 4); }
uint32_t GetU32(absl::string_view in, size_t at) {
  uint32_t v;
  std::memcpy(&v, in.data() + at, 4);
  return v;
}

// The GNU build ID of the running binary, in hex ("" without one): any
// rebuild changes it, a dirty tree at the same commit included.
int NoteCallback(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* nh = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((nh->n_namesz + 3) & ~3u);
      if (desc + nh->n_descsz > end) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        *out = absl::BytesToHexString(absl::string_view(desc, nh->n_descsz));
        return 1;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // the first object is the executable itself
}

std::string BuildId() {
  std::string id;
  ::dl_iterate_phdr(NoteCallback, &id);
  return id;
}

void WriteProfile(JsonWriter& w, const spec::Seccomp& c) {
  w.BeginObject();
  w.Key("defaultAction").String(spec::SeccompActionName(c.default_action));
  if (c.default_errno_ret) w.Key("defaultErrnoRet").Uint(*c.default_errno_ret);
  w.Key("architectures").BeginArray();
  for (spec::SeccompArch a : c.architectures) w.String(spec::SeccompArchName(a));
  w.EndArray();
  w.Key("flags").BeginArray();
  for (spec::SeccompFlag f : c.flags) w.String(spec::SeccompFlagName(f));
  w.EndArray();
  // Rules in their order: libseccomp's output may depend on it.
  w.Key("syscalls").BeginArray();
  for (const spec::SeccompSyscall& sc : c.syscalls) {
    w.BeginObject();
    w.Key("names").BeginArray();
    for (const std::string& n : sc.names) w.String(n);
    w.EndArray();
    w.Key("action").String(spec::SeccompActionName(sc.action));
    if (sc.errno_ret) w.Key("errnoRet").Uint(*sc.errno_ret);
    w.Key("args").BeginArray();
    for (const spec::SeccompArg& a : sc.args) {
      w.BeginObject();
      w.Key("index").Uint(a.index);
      w.Key("value").Uint(a.value);
      w.Key("valueTwo").Uint(a.value_two);
      w.Key("op").String(spec::SeccompOpName(a.op));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

// Owned by root or by us, and writable by nobody else.
bool Trusted(const struct stat& st) {
  return (st.st_uid == 0 || st.st_uid == ::geteuid()) && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

bool IsEntryName(absl::string_view name) {
  return name.size() == 2 * SHA256_DIGEST_LENGTH &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string SeccompCacheKeyMaterial(const spec::Seccomp& config) {
  JsonWriter w;
  w.BeginObject();
  w.Key("format").Uint(kSeccompCacheFormat);
  w.Key("berth").String(kVersion);
  w.Key("commit").String(kRevision);
  w.Key("buildId").String(BuildId());
  if (const scmp_version* v = seccomp_version()) {
    w.Key("libseccomp").String(absl::StrCat(v->major, ".", v->minor, ".", v->micro));
  }
  struct utsname u;
  if (::uname(&u) == 0) {
    w.Key("kernel").String(absl::StrCat(u.release, " ", u.version, " ", u.machine));
  }
  auto actions = ReadFile("/proc/sys/kernel/seccomp/actions_avail");
  w.Key("actionsAvail").String(actions.ok() ? *actions : "");
  w.Key("profile");
  WriteProfile(w, config);
  w.EndObject();
  return w.Take();
}

std::string SeccompCacheKey(const spec::Seccomp& config) {
  return Sha256(SeccompCacheKeyMaterial(config));
}

std::string EncodeSeccompCacheEntry(absl::string_view key, const SeccompProgram& program) {
  size_t body = program.bpf.size() * sizeof(struct sock_filter);
  std::string out(kHeaderSize, '\0');
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  PutU32(&out, 8, kSeccompCacheFormat);
  PutU32(&out, 12, program.flags);
  PutU32(&out, 16, static_cast<uint32_t>(program.bpf.size()));
  std::memcpy(out.data() + kKeyOffset, key.data(), std::min<size_t>(key.size(), 32));
  absl::string_view bpf(reinterpret_cast<const char*>(program.bpf.data()), body);
  std::string sum = Sha256(absl::string_view(out).substr(0, kSumOffset), bpf);
  std::memcpy(out.data() + kSumOffset, sum.data(), sum.size());
  out.append(bpf.data(), bpf.size());
  return out;
}

std::optional<SeccompProgram> DecodeSeccompCacheEntry(absl::string_view data,
                                                      absl::string_view key) {
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    return std::nullopt;
  }
  uint32_t n = GetU32(data, 16);
  if (GetU32(data, 8) != kSeccompCacheFormat || GetU32(data, 20) != 0 || n == 0 ||
      n > BPF_MAXINSNS || data.size() != kHeaderSize + n * sizeof(struct sock_filter) ||
      key.size() != 32 || data.substr(kKeyOffset, 32) != key) {
    return std::nullopt;
  }
  absl::string_view bpf = data.substr(kHeaderSize);
  if (Sha256(data.substr(0, kSumOffset), bpf) != data.substr(kSumOffset, 32)) return std::nullopt;
  SeccompProgram p;
  p.flags = GetU32(data, 12);
  p.bpf.resize(n);
  std::memcpy(p.bpf.data(), bpf.data(), bpf.size());
  return p;
}

SeccompCache SeccompCache::Open(const std::string& state_root) {
  if (state_root.empty()) return SeccompCache();
  std::string path = absl::StrCat(state_root, "/", kSeccompCacheDir);
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd dir(::open(path.c_str(), kFlags));
  if (!dir && errno == ENOENT && (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST)) {
    dir.reset(::open(path.c_str(), kFlags));
  }
  struct stat st;
  if (!dir || ::fstat(dir.get(), &st) != 0) {
    log::Debug(absl::StrCat("seccomp cache: ", path, ": ", std::strerror(errno), "; not used"));
    return SeccompCache();
  }
  if (!Trusted(st)) {
    log::Debug(absl::StrCat("seccomp cache: ", path,
                            " is not owned by root or us, or is writable by others; not used"));
    return SeccompCache();
  }
  return SeccompCache(std::move(dir));
}

std::optional<SeccompProgram> SeccompCache::Lookup(absl::string_view key) const {
  if (!dir_) return std::nullopt;
  std::string name = absl::BytesToHexString(key);
  UniqueFd fd(::openat(dir_.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !Trusted(st) ||
      st.st_size > static_cast<off_t>(kMaxEntrySize)) {
    log::Debug(absl::StrCat("seccomp cache: entry ", name, " is not a trusted file; recompiling"));
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  std::optional<SeccompProgram> p;
  if (::pread(fd.get(), data.data(), data.size(), 0) == st.st_size) {
    p = DecodeSeccompCacheEntry(data, key);
  }
  if (!p) {
    log::Debug(absl::StrCat("seccomp cache: entry ", name, " is corrupt; recompiling"));
    return std::nullopt;
  }
  if (::time(nullptr) - st.st_mtime > kRefreshAfterSeconds) ::futimens(fd.get(), nullptr);
  return p;
}

void SeccompCache::Store(absl::string_view key, const SeccompProgram& program) const {
  if (!dir_) return;
  std::string name = absl::BytesToHexString(key);
  std::string temp = absl::StrCat(kTempPrefix, ::getpid(), "-", name);
  UniqueFd fd(::openat(dir_.get(), temp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  absl::Status st = fd ? WriteAll(fd.get(), EncodeSeccompCacheEntry(key, program))
                       : absl::ErrnoToStatus(errno, "create");
  fd.reset();
  if (st.ok() && ::renameat(dir_.get(), temp.c_str(), dir_.get(), name.c_str()) != 0) {
    st = absl::ErrnoToStatus(errno, "rename");
  }
  if (!st.ok()) {
    ::unlinkat(dir_.get(), temp.c_str(), 0);
    log::Debug(absl::StrCat("seccomp cache: store ", name, ": ", st.message()));
    return;
  }
  Evict();
}

void SeccompCache::Evict() const {
  UniqueFd again(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  DIR* d = again ? ::fdopendir(again.release()) : nullptr;
  if (d == nullptr) return;
  std::vector<std::pair<struct timespec, std::string>> entries;
  time_t now = ::time(nullptr);
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view name = e->d_name;
    bool entry = IsEntryName(name);
    bool temp = name.substr(0, sizeof kTempPrefix - 1) == kTempPrefix;
    struct stat st;
    if ((!entry && !temp) || ::fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (entry) {
      entries.emplace_back(st.st_mtim, std::string(name));
    } else if (now - st.st_mtime > kStaleTempSeconds) {
      ::unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  if (entries.size() > kSeccompCacheMaxEntries) {
    auto older = [](const auto& a, const auto& b) {
      return a.first.tv_sec != b.first.tv_sec ? a.first.tv_sec < b.first.tv_sec
                                              : a.first.tv_nsec < b.first.tv_nsec;
    };
    size_t excess = entries.size() - kSeccompCacheMaxEntries;
    std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(excess),
                      entries.end(), older);
    for (size_t i = 0; i < excess; ++i) ::unlinkat(dirfd(d), entries[i].second.c_str(), 0);
  }
  ::closedir(d);
}

absl::StatusOr<SeccompProgram> CompileSeccompCached(const spec::Seccomp& config,
                                                    const SeccompCache& cache) {
  if (!cache.enabled()) return CompileSeccomp(config);
  std::string key = SeccompCacheKey(config);
  if (std::optional<SeccompProgram> hit = cache.Lookup(key)) return *std::move(hit);
  BERTH_ASSIGN_OR_RETURN(SeccompProgram p, CompileSeccomp(config));
  cache.Store(key, p);
  return p;
}

}  // namespace berth::linux_ns
