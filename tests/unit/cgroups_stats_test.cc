// Statistics files and the `events` JSON that containerd decodes.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "lib/json_tree.h"
#include "runtime/cgroups/stat_files.h"
#include "runtime/cgroups/stats.h"
#include "runtime/cgroups/stats_read.h"

namespace berth::cgroups {
namespace {

using Numbers = std::vector<uint64_t>;

// A fake cgroup2 directory of plain files.
std::string FakeCgroup(const std::vector<std::pair<std::string, std::string>>& files) {
  char dir[] = "/tmp/berth-stats-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  for (const auto& [name, content] : files) std::ofstream(std::string(dir) + "/" + name) << content;
  return dir;
}

TEST_CASE("v2 stats: files read, swap reported as memory+swap like v1", "[cgroups][stats]") {
  std::string dir = FakeCgroup({{"memory.current", "100\n"},
                                {"memory.max", "1000\n"},
                                {"memory.swap.current", "5\n"},
                                {"memory.swap.max", "50\n"},
                                {"memory.stat", "anon 60\nfile 40\n"},
                                {"cpu.stat", "usage_usec 7\nuser_usec 4\nsystem_usec 3\n"},
                                {"pids.current", "3\n"},
                                {"pids.max", "max\n"}});
  Stats s = ReadStatsV2(dir);
  CHECK(s.memory.usage.usage == 100);
  CHECK(s.memory.usage.limit == 1000);
  CHECK(s.memory.cache == 40);
  CHECK(s.memory.swap.usage == 105);
  CHECK(s.memory.swap.limit == 1050);
  CHECK(s.cpu.usage.total == 7000);
  CHECK(s.cpu.usage.kernel == 3000);
  CHECK(s.pids.current == 3);
  CHECK(s.pids.limit == 0);  // max: unlimited
  std::ofstream(dir + "/memory.swap.max") << "max\n";
  CHECK(ReadStatsV2(dir).memory.swap.limit > (uint64_t{1} << 62));  // unlimited stays unlimited
  std::string rm = "rm -rf " + dir;
  CHECK(system(rm.c_str()) == 0);
}

TEST_CASE("flat keyed files", "[cgroups][stats]") {
  auto m = ParseFlatKeyed("cache 4096\nrss 8192\nbogus\nweird x\n\n");
  CHECK(m.size() == 2);
  CHECK(m["cache"] == 4096);
  CHECK(m["rss"] == 8192);
}

TEST_CASE("number and range lists", "[cgroups][stats]") {
  CHECK(ParseNumberList("10 20 30 \n") == Numbers{10, 20, 30});
  CHECK(ParseRangeList("0-3,8,10-11\n") == Numbers{0, 1, 2, 3, 8, 10, 11});
  CHECK(ParseRangeList("").empty());
  CHECK(ParseRangeList("0") == Numbers{0});
}

TEST_CASE("limits: numbers and max", "[cgroups][stats]") {
  CHECK(ParseLimit("max\n", 0) == 0u);
  CHECK(ParseLimit("max", UINT64_MAX) == UINT64_MAX);
  CHECK(ParseLimit(" 42\n", 0) == 42u);
  CHECK_FALSE(ParseLimit("", 0).has_value());
}

TEST_CASE("blkio recursive files", "[cgroups][stats]") {
  auto e = ParseBlkioFile("8:0 Read 4096\n8:0 Write 0\n8:0 Sync 4096\nTotal 4096\n");
  REQUIRE(e.size() == 3);
  CHECK(e[0].major == 8);
  CHECK(e[0].minor == 0);
  CHECK(e[0].op == "Read");
  CHECK(e[0].value == 4096);
  CHECK(e[1].op == "Write");
}

TEST_CASE("cgroup2 io.stat", "[cgroups][stats]") {
  BlkioStats b = ParseIoStat("8:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n");
  REQUIRE(b.io_service_bytes_recursive.size() == 2);
  CHECK(b.io_service_bytes_recursive[1].op == "Write");
  CHECK(b.io_service_bytes_recursive[1].value == 200);
  REQUIRE(b.io_serviced_recursive.size() == 2);
  CHECK(b.io_serviced_recursive[0].value == 3);
}

TEST_CASE("huge page size names", "[cgroups][stats]") {
  CHECK(HugePageSizeName("hugepages-2048kB") == "2MB");
  CHECK(HugePageSizeName("hugepages-1048576kB") == "1GB");
  CHECK(HugePageSizeName("hugepages-64kB") == "64KB");
  CHECK(HugePageSizeName("hugepages-").empty());
  CHECK(HugePageSizeName("other").empty());
}

std::unique_ptr<json::Document> ParseJson(const std::string& text) {
  auto doc = json::Document::Parse(text, "event");
  INFO(text);
  REQUIRE(doc.ok());
  return std::move(*doc);
}

TEST_CASE("stats event in runc's shape", "[cgroups][stats]") {
  Stats s;
  s.cpu.usage.total = 1000;
  s.cpu.usage.percpu = {400, 600};
  s.cpu.usage.user = 700;
  s.cpu.throttling.periods = 5;
  s.memory.cache = 4096;
  s.memory.usage = {100000, 5000, 6000, 0};
  s.memory.raw = {{"cache", 4096}, {"rss", 1024}};
  s.pids = {3, 20};
  s.blkio.io_service_bytes_recursive = {{8, 0, "Read", 512}};
  s.hugetlb["2MB"] = {0, 0, 0};
  std::string text = RenderStatsEvent("c1", s);
  CHECK(text.find('\n') == std::string::npos);
  auto doc = ParseJson(text);
  json::Value root = doc->root();
  CHECK(*root.Get("type").AsString() == "stats");
  CHECK(*root.Get("id").AsString() == "c1");
  json::Value data = root.Get("data");
  json::Value usage = data.Get("cpu").Get("usage");
  CHECK(*usage.Get("total").AsUint64() == 1000);
  CHECK(usage.Get("percpu").Elements().size() == 2);
  CHECK(*usage.Get("kernel").AsUint64() == 0);  // kernel and user are always there
  CHECK(*usage.Get("user").AsUint64() == 700);
  CHECK(usage.Get("percpu_kernel").missing());  // empty lists are left out
  json::Value throttling = data.Get("cpu").Get("throttling");
  CHECK(*throttling.Get("periods").AsUint64() == 5);
  CHECK(throttling.Get("throttledPeriods").missing());  // zero: left out
  json::Value memory = data.Get("memory");
  CHECK(*memory.Get("cache").AsUint64() == 4096);
  CHECK(*memory.Get("usage").Get("limit").AsUint64() == 100000);
  CHECK(*memory.Get("usage").Get("failcnt").AsUint64() == 0);
  CHECK(*memory.Get("swap").Get("limit").AsUint64() == 0);  // limit is never left out
  CHECK(memory.Get("swap").Get("usage").missing());
  CHECK(memory.Get("kernel").is_object());
  CHECK(memory.Get("kernelTCP").is_object());
  CHECK(*memory.Get("raw").Get("rss").AsUint64() == 1024);
  CHECK(*data.Get("pids").Get("current").AsUint64() == 3);
  CHECK(*data.Get("pids").Get("limit").AsUint64() == 20);
  json::Value blk = data.Get("blkio").Get("ioServiceBytesRecursive").Elements()[0];
  CHECK(*blk.Get("op").AsString() == "Read");
  CHECK(*blk.Get("value").AsUint64() == 512);
  CHECK(data.Get("blkio").Get("ioServicedRecursive").missing());
  CHECK(*data.Get("hugetlb").Get("2MB").Get("failcnt").AsUint64() == 0);
  CHECK(data.Get("hugetlb").Get("2MB").Get("usage").missing());
  CHECK(data.Get("cpuset").is_object());
}

TEST_CASE("empty stats keep every object containerd decodes", "[cgroups][stats]") {
  auto doc = ParseJson(RenderStatsEvent("x", Stats{}));
  json::Value data = doc->root().Get("data");
  for (const char* key : {"cpu", "memory", "pids", "blkio", "hugetlb"}) {
    INFO(key);
    CHECK(data.Get(key).is_object());
  }
  CHECK(data.Get("pids").Get("limit").missing());  // unlimited
  CHECK(data.Get("memory").Get("raw").missing());
}

TEST_CASE("oom event", "[cgroups][stats]") {
  CHECK(RenderOomEvent("c1") == R"({"type":"oom","id":"c1"})");
}

}  // namespace
}  // namespace berth::cgroups
