// The cgroup write executor (write_files.h) on fake cgroup directories of
// plain files; a fake writer stands in for the kernel where it refuses.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/file_util.h"
#include "runtime/cgroups/write_files.h"

namespace berth::cgroups {
namespace {

using Strings = std::vector<std::string>;

// A temporary directory of cgroup files, removed at the end of the test.
class FakeCgroup {
 public:
  explicit FakeCgroup(std::initializer_list<std::pair<std::string, std::string>> files = {}) {
    char dir[] = "/tmp/berth-write-files-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    dir_ = dir;
    for (const auto& [name, content] : files) Put(name, content);
  }
  ~FakeCgroup() {
    std::string rm = "rm -rf " + dir_;
    CHECK(system(rm.c_str()) == 0);
  }
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  void Put(const std::string& file, const std::string& content) const {
    std::ofstream(path(file)) << content;
  }
  bool Has(const std::string& file) const {
    struct stat st;
    return ::stat(path(file).c_str(), &st) == 0;
  }
  std::string Read(const std::string& file) const {
    std::ifstream in(path(file));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string dir_;
};

FileWrite Write(const std::string& controller, const std::string& file, const std::string& value,
                const std::string& field) {
  FileWrite w;
  w.controller = controller;
  w.candidates = {{file, value}};
  w.field = field;
  return w;
}

// Every controller in one directory, as on cgroup2.
DirForController OneDir(const FakeCgroup& cg) {
  return [&cg](const std::string&) { return &cg.dir(); };
}

// v1: a directory per controller; a controller not in `dirs` is not mounted.
DirForController PerController(const std::map<std::string, std::string>& dirs) {
  return [&dirs](const std::string& controller) -> const std::string* {
    auto it = dirs.find(controller);
    return it == dirs.end() ? nullptr : &it->second;
  };
}

TEST_CASE("writes: each value lands in its controller's directory", "[cgroups][write]") {
  FakeCgroup memory({{"memory.limit_in_bytes", ""}});
  FakeCgroup pids({{"pids.max", ""}});
  std::map<std::string, std::string> dirs = {{"memory", memory.dir()}, {"pids", pids.dir()}};
  REQUIRE(ExecuteWrites({Write("memory", "memory.limit_in_bytes", "1000", "l.r.memory.limit"),
                         Write("pids", "pids.max", "max", "l.r.pids.limit")},
                        PerController(dirs))
              .ok());
  CHECK(memory.Read("memory.limit_in_bytes") == "1000");
  CHECK(pids.Read("pids.max") == "max");
  CHECK_FALSE(memory.Has("pids.max"));
  CHECK_FALSE(pids.Has("memory.limit_in_bytes"));
}

TEST_CASE("writes: the first candidate whose file exists is written", "[cgroups][write]") {
  FileWrite w;
  w.controller = "blkio";
  w.candidates = {{"blkio.weight", "300"}, {"blkio.bfq.weight", "301"}};
  w.field = "linux.resources.blockIO.weight";
  SECTION("CFQ's file") {
    FakeCgroup cg({{"blkio.weight", ""}, {"blkio.bfq.weight", ""}});
    REQUIRE(ExecuteWrites({w}, OneDir(cg)).ok());
    CHECK(cg.Read("blkio.weight") == "300");
    CHECK(cg.Read("blkio.bfq.weight").empty());
  }
  SECTION("BFQ's file when CFQ's is missing") {
    FakeCgroup cg({{"blkio.bfq.weight", ""}});
    REQUIRE(ExecuteWrites({w}, OneDir(cg)).ok());
    CHECK(cg.Read("blkio.bfq.weight") == "301");
    CHECK_FALSE(cg.Has("blkio.weight"));  // never created
  }
}

TEST_CASE("writes: a missing file fails unless optional", "[cgroups][write]") {
  FakeCgroup cg({{"pids.max", ""}});
  FileWrite kmem =
      Write("memory", "memory.kmem.limit_in_bytes", "1000", "linux.resources.memory.kernel");
  absl::Status st = ExecuteWrites({kmem, Write("pids", "pids.max", "5", "p")}, OneDir(cg));
  REQUIRE(absl::IsFailedPrecondition(st));
  CHECK(std::string(st.message()) ==
        absl::StrCat("linux.resources.memory.kernel: ", cg.dir(),
                     "/memory.kmem.limit_in_bytes does not exist (the kernel or its cgroup "
                     "controller does not support it)"));
  CHECK(cg.Read("pids.max").empty());  // stopped at the first failure
  CHECK_FALSE(cg.Has("memory.kmem.limit_in_bytes"));

  kmem.optional = true;
  REQUIRE(ExecuteWrites({kmem, Write("pids", "pids.max", "5", "p")}, OneDir(cg)).ok());
  CHECK(cg.Read("pids.max") == "5");
  CHECK_FALSE(cg.Has("memory.kmem.limit_in_bytes"));
}

TEST_CASE("writes: a controller that is not mounted fails unless optional", "[cgroups][write]") {
  FakeCgroup pids({{"pids.max", ""}});
  std::map<std::string, std::string> dirs = {{"pids", pids.dir()}};
  FileWrite rdma = Write("rdma", "rdma.max", "mlx5_0 hca_handle=3", "linux.resources.rdma");
  absl::Status st = ExecuteWrites({rdma, Write("pids", "pids.max", "5", "p")}, PerController(dirs));
  REQUIRE(absl::IsFailedPrecondition(st));
  CHECK(std::string(st.message()) ==
        "linux.resources.rdma: the rdma cgroup controller is not mounted on this host");
  CHECK(pids.Read("pids.max").empty());

  rdma.optional = true;
  REQUIRE(ExecuteWrites({rdma, Write("pids", "pids.max", "5", "p")}, PerController(dirs)).ok());
  CHECK(pids.Read("pids.max") == "5");
}

TEST_CASE("writes: an error names the config field, the file and the value", "[cgroups][write]") {
  FakeCgroup cg;
  REQUIRE(::mkdir(cg.path("memory.max").c_str(), 0755) == 0);  // open(O_WRONLY): EISDIR
  absl::Status st =
      ExecuteWrites({Write("", "memory.max", "1000", "linux.resources.memory.limit")}, OneDir(cg));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(std::string(st.message()),
             Catch::StartsWith(
                 absl::StrCat("linux.resources.memory.limit: open ", cg.dir(), "/memory.max")));
}

// The kernel's side of cpu.cfs_period_us: a period that the current quota
// over it would put above what the parent allows is refused (EINVAL) until
// the quota has been lowered. Every write is recorded.
struct KernelPeriodRule {
  const FakeCgroup& cg;
  Strings calls;
  absl::Status operator()(const std::string& path, absl::string_view value) {
    calls.push_back(absl::StrCat(path.substr(cg.dir().size() + 1), "=", value));
    if (path == cg.path("cpu.cfs_period_us") && cg.Read("cpu.cfs_quota_us") == "-1") {
      return absl::InvalidArgumentError(absl::StrCat("write \"", value, "\" to ", path));
    }
    return WriteExisting(path, value);
  }
};

FileWrite Period(const std::string& value) {
  FileWrite w = Write("cpu", "cpu.cfs_period_us", value, "linux.resources.cpu.period");
  w.retry_after_next = true;
  return w;
}

TEST_CASE("writes: a period refused with EINVAL is retried after its quota", "[cgroups][write]") {
  FakeCgroup cg({{"cpu.cfs_period_us", ""}, {"cpu.cfs_quota_us", "-1"}, {"cpu.shares", ""}});
  KernelPeriodRule kernel{cg, {}};
  absl::Status st =
      ExecuteWrites({Period("10000"), Write("cpu", "cpu.cfs_quota_us", "5000", "quota"),
                     Write("cpu", "cpu.shares", "512", "shares")},
                    OneDir(cg), std::ref(kernel));
  REQUIRE(st.ok());
  CHECK(cg.Read("cpu.cfs_period_us") == "10000");
  CHECK(cg.Read("cpu.cfs_quota_us") == "5000");
  CHECK(cg.Read("cpu.shares") == "512");
  // The quota goes first, once; then the period again; then the rest.
  CHECK(kernel.calls == Strings{"cpu.cfs_period_us=10000", "cpu.cfs_quota_us=5000",
                                "cpu.cfs_period_us=10000", "cpu.shares=512"});
}

TEST_CASE("writes: a period the kernel accepts is written once, before its quota",
          "[cgroups][write]") {
  FakeCgroup cg({{"cpu.cfs_period_us", ""}, {"cpu.cfs_quota_us", "20000"}});
  KernelPeriodRule kernel{cg, {}};
  REQUIRE(ExecuteWrites({Period("10000"), Write("cpu", "cpu.cfs_quota_us", "5000", "quota")},
                        OneDir(cg), std::ref(kernel))
              .ok());
  CHECK(kernel.calls == Strings{"cpu.cfs_period_us=10000", "cpu.cfs_quota_us=5000"});
}

TEST_CASE("writes: EINVAL is final without retry_after_next, or with nothing after",
          "[cgroups][write]") {
  FakeCgroup cg({{"cpu.cfs_period_us", ""}, {"cpu.cfs_quota_us", "-1"}});
  KernelPeriodRule kernel{cg, {}};
  SECTION("no retry asked for") {
    FileWrite period = Period("10000");
    period.retry_after_next = false;
    absl::Status st = ExecuteWrites({period, Write("cpu", "cpu.cfs_quota_us", "5000", "quota")},
                                    OneDir(cg), std::ref(kernel));
    REQUIRE(absl::IsInvalidArgument(st));
    CHECK_THAT(std::string(st.message()), Catch::StartsWith("linux.resources.cpu.period: "));
    CHECK(kernel.calls == Strings{"cpu.cfs_period_us=10000"});
    CHECK(cg.Read("cpu.cfs_quota_us") == "-1");
  }
  SECTION("the last write") {
    absl::Status st = ExecuteWrites({Period("10000")}, OneDir(cg), std::ref(kernel));
    REQUIRE(absl::IsInvalidArgument(st));
    CHECK(kernel.calls == Strings{"cpu.cfs_period_us=10000"});
  }
  SECTION("refused again after the next write") {
    // The next write does not lift the refusal: the retry's error is the answer.
    absl::Status st = ExecuteWrites({Period("10000"), Write("cpu", "cpu.cfs_quota_us", "-1", "q")},
                                    OneDir(cg), std::ref(kernel));
    REQUIRE(absl::IsInvalidArgument(st));
    CHECK_THAT(std::string(st.message()), Catch::StartsWith("linux.resources.cpu.period: "));
    CHECK(kernel.calls ==
          Strings{"cpu.cfs_period_us=10000", "cpu.cfs_quota_us=-1", "cpu.cfs_period_us=10000"});
  }
}

TEST_CASE("writes: the next write's failure ends the retry", "[cgroups][write]") {
  FakeCgroup cg({{"cpu.cfs_period_us", ""}, {"cpu.cfs_quota_us", "-1"}});
  KernelPeriodRule kernel{cg, {}};
  absl::Status st =
      ExecuteWrites({Period("10000"), Write("cpu", "cpu.no_such_file", "1", "linux.resources.x")},
                    OneDir(cg), std::ref(kernel));
  REQUIRE(absl::IsFailedPrecondition(st));
  CHECK_THAT(std::string(st.message()), Catch::StartsWith("linux.resources.x: "));
  CHECK(kernel.calls == Strings{"cpu.cfs_period_us=10000", "cpu.no_such_file=1"});
}

// A cgroup file keeps just the value written (plain files keep the old
// tail when the new value is shorter).
absl::Status Replace(const std::string& path, absl::string_view value) {
  std::ofstream(path) << value;
  return absl::OkStatus();
}

// The kernel refusing one file (EINVAL), writing the others.
struct KernelRefuses {
  const FakeCgroup& cg;
  std::string refused;
  absl::Status operator()(const std::string& path, absl::string_view value) {
    if (path == cg.path(refused)) {
      return absl::InvalidArgumentError(absl::StrCat("write \"", value, "\" to ", path));
    }
    return Replace(path, value);
  }
};

TEST_CASE("update: a refused write puts back what the files held", "[cgroups][write]") {
  FakeCgroup cg({{"memory.max", "1000\n"},
                 {"pids.max", "20\n"},
                 {"io.max", "8:0 rbps=1 wbps=max\n8:16 rbps=2 wbps=max\n"},
                 {"cpu.max", "30000 100000\n"}});
  KernelRefuses kernel{cg, "cpu.max"};
  absl::Status st = ExecuteWritesOrRestore(
      {Write("", "memory.max", "2000", "m"), Write("", "pids.max", "40", "p"),
       Write("", "io.max", "8:0 rbps=5", "i"), Write("", "cpu.max", "500 100000", "c")},
      OneDir(cg), std::ref(kernel), ReadFile);
  REQUIRE(absl::IsInvalidArgument(st));
  CHECK_THAT(std::string(st.message()), Catch::StartsWith("c: write \"500 100000\""));
  CHECK(cg.Read("memory.max") == "1000");
  CHECK(cg.Read("pids.max") == "20");
  // Keyed files get their lines back one by one (the fake keeps the last).
  CHECK(cg.Read("io.max") == "8:16 rbps=2 wbps=max");
  CHECK(cg.Read("cpu.max") == "30000 100000\n");  // never written
}

TEST_CASE("update: a successful update is left as written", "[cgroups][write]") {
  FakeCgroup cg({{"memory.max", "1000\n"}, {"pids.max", "20\n"}});
  REQUIRE(ExecuteWritesOrRestore(
              {Write("", "memory.max", "2000", "m"), Write("", "pids.max", "40", "p")}, OneDir(cg),
              Replace, ReadFile)
              .ok());
  CHECK(cg.Read("memory.max") == "2000");
  CHECK(cg.Read("pids.max") == "40");
}

spec::Resources MemoryLimit(int64_t limit, std::optional<bool> check) {
  spec::Resources r;
  r.memory.emplace();
  r.memory->limit = limit;
  r.memory->check_before_update = check;
  return r;
}

TEST_CASE("checkBeforeUpdate refuses a limit below the current usage", "[cgroups][write]") {
  FakeCgroup cg({{"memory.current", "5000\n"}});
  absl::Status st = CheckMemoryBeforeUpdate(MemoryLimit(4999, true), cg.dir(), "memory.current");
  REQUIRE(absl::IsFailedPrecondition(st));
  CHECK(std::string(st.message()) ==
        "linux.resources.memory.limit: rejecting memory limit 4999 below the current usage 5000 "
        "(checkBeforeUpdate)");
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(5000, true), cg.dir(), "memory.current").ok());
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(6000, true), cg.dir(), "memory.current").ok());
}

TEST_CASE("checkBeforeUpdate reads the usage file it is given", "[cgroups][write]") {
  FakeCgroup cg({{"memory.usage_in_bytes", "8192\n"}, {"memory.current", "10\n"}});
  CHECK(absl::IsFailedPrecondition(
      CheckMemoryBeforeUpdate(MemoryLimit(4096, true), cg.dir(), "memory.usage_in_bytes")));
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(4096, true), cg.dir(), "memory.current").ok());
}

TEST_CASE("checkBeforeUpdate only when asked, for a positive limit", "[cgroups][write]") {
  FakeCgroup cg({{"memory.current", "5000\n"}});
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(10, false), cg.dir(), "memory.current").ok());
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(10, std::nullopt), cg.dir(), "memory.current").ok());
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(-1, true), cg.dir(), "memory.current").ok());
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(0, true), cg.dir(), "memory.current").ok());
  CHECK(CheckMemoryBeforeUpdate(spec::Resources{}, cg.dir(), "memory.current").ok());
  // No usage to compare with (the file is missing): nothing to refuse.
  CHECK(CheckMemoryBeforeUpdate(MemoryLimit(10, true), cg.dir(), "memory.usage_in_bytes").ok());
}

}  // namespace
}  // namespace berth::cgroups
