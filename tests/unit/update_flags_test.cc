// `berth update` flags: runc's names and memory size syntax.
#include "runtime/cli/update_flags.h"

#include <catch2/catch.hpp>

namespace berth::cli {
namespace {

TEST_CASE("memory sizes as go-units RAMInBytes reads them", "[update]") {
  CHECK(*ParseMemorySize("-1") == -1);
  CHECK(*ParseMemorySize("1024") == 1024);
  CHECK(*ParseMemorySize("100k") == 100 * 1024);
  CHECK(*ParseMemorySize("100K") == 100 * 1024);
  CHECK(*ParseMemorySize("64M") == 64 << 20);
  CHECK(*ParseMemorySize("64mb") == 64 << 20);
  CHECK(*ParseMemorySize("2GiB") == int64_t{2} << 30);
  CHECK(*ParseMemorySize("1.5g") == int64_t{3} << 29);
  CHECK(*ParseMemorySize("64 MB") == 64 << 20);
  CHECK(*ParseMemorySize("512b") == 512);
  for (const char* bad : {"", "M", "-2", "10x", "1e3", "10 M B", "ten"}) {
    INFO(bad);
    CHECK_FALSE(ParseMemorySize(bad).ok());
  }
}

absl::StatusOr<spec::Resources> FromArgs(const std::vector<std::string>& args) {
  UpdateFlags f;
  FlagSet flags("update");
  f.Register(flags);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return rest.status();
  return ResourcesFromFlags(f);
}

TEST_CASE("runc's update flags become resources", "[update]") {
  auto r = FromArgs({"--memory",
                     "100M",
                     "--memory-swap=-1",
                     "--memory-reservation",
                     "50M",
                     "--cpu-quota",
                     "20000",
                     "--cpu-period=100000",
                     "--cpu-share",
                     "512",
                     "--cpuset-cpus",
                     "0",
                     "--cpuset-mems",
                     "0",
                     "--pids-limit",
                     "10",
                     "--blkio-weight",
                     "300",
                     "--cpu-rt-period",
                     "1000000",
                     "--cpu-rt-runtime",
                     "5000",
                     "--kernel-memory-tcp",
                     "1M",
                     "ID"});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->memory->limit == 100 << 20);
  CHECK(r->memory->swap == -1);
  CHECK(r->memory->reservation == 50 << 20);
  CHECK(r->memory->kernel_tcp == 1 << 20);
  CHECK(r->cpu->quota == 20000);
  CHECK(r->cpu->period == 100000u);
  CHECK(r->cpu->shares == 512u);
  CHECK(r->cpu->cpus == "0");
  CHECK(r->cpu->realtime_runtime == 5000);
  CHECK(r->pids->limit == 10);
  CHECK(r->block_io->weight == 300);
}

TEST_CASE("update flags: docker's --cpu-shares spelling too", "[update]") {
  auto r = FromArgs({"--cpu-shares=256"});
  REQUIRE(r.ok());
  CHECK(r->cpu->shares == 256u);
}

TEST_CASE("update flags: nothing given, nothing set", "[update]") {
  auto r = FromArgs({"ID"});
  REQUIRE(r.ok());
  CHECK_FALSE(r->memory.has_value());
  CHECK_FALSE(r->cpu.has_value());
  CHECK_FALSE(r->pids.has_value());
  CHECK_FALSE(r->block_io.has_value());
}

TEST_CASE("update flags: errors name the flag", "[update]") {
  auto mem = FromArgs({"--memory", "lots"});
  REQUIRE_FALSE(mem.ok());
  CHECK(std::string(mem.status().message()).find("--memory") != std::string::npos);
  auto quota = FromArgs({"--cpu-quota", "1.5"});
  REQUIRE_FALSE(quota.ok());
  CHECK(std::string(quota.status().message()).find("--cpu-quota") != std::string::npos);
  auto weight = FromArgs({"--blkio-weight", "5"});
  REQUIRE_FALSE(weight.ok());
  CHECK(std::string(weight.status().message()).find("between 10 and 1000") != std::string::npos);
  CHECK_FALSE(FromArgs({"--l3-cache-schema", "L3:0=f"}).ok());
}

}  // namespace
}  // namespace berth::cli
