#include "runtime/cgroups/systemd_properties.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "runtime/cgroups/device_rules.h"

namespace berth::cgroups {
namespace {

std::vector<std::string> Rendered(const std::vector<UnitProperty>& props) {
  std::vector<std::string> out;
  for (const UnitProperty& p : props) out.push_back(RenderProperty(p));
  return out;
}

spec::Resources Everything() {
  spec::Resources r;
  r.memory.emplace();
  r.memory->limit = 67108864;
  r.memory->reservation = 33554432;
  r.memory->swap = 134217728;
  r.cpu.emplace();
  r.cpu->shares = 1024;
  r.cpu->quota = 25000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1,3";
  r.cpu->mems = "0";
  r.pids = spec::PidsResources{50};
  r.block_io.emplace();
  r.block_io->weight = 500;
  return r;
}

TEST_CASE("systemd properties for cgroup v2", "[systemd]") {
  auto props = ResourceProperties(Everything(), true);
  REQUIRE(props.ok());
  CHECK(Rendered(*props) ==
        std::vector<std::string>{
            "MemoryMax=67108864", "MemoryLow=33554432", "MemorySwapMax=67108864", "CPUWeight=100",
            "CPUQuotaPeriodUSec=100000", "CPUQuotaPerSecUSec=250000", "AllowedCPUs=0,1,3",
            "AllowedMemoryNodes=0", "TasksMax=50", "IOWeight=4950"});
}

TEST_CASE("systemd properties for cgroup v1", "[systemd]") {
  auto props = ResourceProperties(Everything(), false);
  REQUIRE(props.ok());
  CHECK(Rendered(*props) == std::vector<std::string>{"MemoryLimit=67108864", "CPUShares=1024",
                                                     "CPUQuotaPeriodUSec=100000",
                                                     "CPUQuotaPerSecUSec=250000",
                                                     "AllowedCPUs=0,1,3", "AllowedMemoryNodes=0",
                                                     "TasksMax=50", "BlockIOWeight=500"});
}

TEST_CASE("systemd properties: unlimited, rounding, unified keys", "[systemd]") {
  spec::Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.cpu.emplace();
  r.cpu->quota = 12345;  // 12.345% of a CPU: systemd keeps whole percents, rounded up
  r.pids = spec::PidsResources{-1};
  r.unified = {{"memory.high", "max"}, {"memory.min", "1048576"}, {"io.max", "ignored"}};
  auto props = ResourceProperties(r, true);
  REQUIRE(props.ok());
  CHECK(Rendered(*props) ==
        std::vector<std::string>{"MemoryMax=infinity", "CPUQuotaPerSecUSec=130000",
                                 "TasksMax=infinity", "MemoryHigh=infinity", "MemoryMin=1048576"});
  CHECK(std::get<uint64_t>((*props)[0].value) == kSystemdInfinity);

  spec::Resources no_quota;
  no_quota.cpu.emplace();
  no_quota.cpu->quota = -1;
  CHECK(Rendered(ResourceProperties(no_quota, true).value()) ==
        std::vector<std::string>{"CPUQuotaPerSecUSec=infinity"});
  CHECK(ResourceProperties(spec::Resources{}, true).value().empty());
}

TEST_CASE("systemd properties: CPU lists as bit masks", "[systemd]") {
  CHECK(CpuListToMask("0", "f").value() == std::vector<uint8_t>{0x01});
  CHECK(CpuListToMask("0-3,7", "f").value() == std::vector<uint8_t>{0x8f});
  CHECK(CpuListToMask("9", "f").value() == std::vector<uint8_t>{0x00, 0x02});
  for (const char* bad : {"a", "3-1", "1-", "-1"}) {
    INFO(bad);
    auto r = CpuListToMask(bad, "linux.resources.cpu.cpus");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("linux.resources.cpu.cpus") != std::string::npos);
  }
}

constexpr char kProcDevices[] =
    "Character devices:\n  1 mem\n  5 /dev/tty\n  10 misc\n136 pts\n\nBlock devices:\n  8 sd\n";

TEST_CASE("systemd device policy: strict with the allow rules, auto when all allowed",
          "[systemd]") {
  std::vector<spec::DeviceRule> config = {{false, 'a', {}, {}, "rwm"}, {true, 'c', 10, 200, "rwm"}};
  auto props = DeviceProperties(EffectiveDeviceRules(config), kProcDevices);
  REQUIRE(props.size() == 2);
  CHECK(RenderProperty(props[0]) == "DevicePolicy=strict");
  const auto& allow = std::get<DeviceAllowList>(props[1].value);
  CHECK(std::find(allow.begin(), allow.end(),
                  std::pair<std::string, std::string>{"/dev/char/10:200", "rwm"}) != allow.end());
  CHECK(std::find(allow.begin(), allow.end(),
                  std::pair<std::string, std::string>{"/dev/char/1:3", "rwm"}) != allow.end());
  CHECK(std::find(allow.begin(), allow.end(),
                  std::pair<std::string, std::string>{"char-pts", "rwm"}) != allow.end());
  CHECK(std::find(allow.begin(), allow.end(), std::pair<std::string, std::string>{"char-*", "m"}) !=
        allow.end());

  std::vector<spec::DeviceRule> all = {{true, 'a', {}, {}, "rwm"}};
  CHECK(Rendered(DeviceProperties(EffectiveDeviceRules(all), kProcDevices)) ==
        std::vector<std::string>{"DevicePolicy=auto"});
  // A major the kernel has no name for cannot be listed in systemd's terms.
  std::vector<spec::DeviceRule> unnamed = {{true, 'c', 99, {}, "r"}};
  CHECK(Rendered(DeviceProperties(EffectiveDeviceRules(unnamed), kProcDevices)) ==
        std::vector<std::string>{"DevicePolicy=auto"});
}

}  // namespace
}  // namespace berth::cgroups
