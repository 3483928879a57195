// linux.resources parsing: every field, and errors that name the JSON path.
#include <catch2/catch.hpp>
#include <string>

#include "runtime/spec/parse_resources.h"
#include "runtime/spec/parser.h"

namespace berth::spec {
namespace {

std::string Config(const std::string& resources) {
  return R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"resources":)" + resources +
         "}}";
}

std::string ErrorOf(const std::string& resources) {
  auto s = ParseSpec(Config(resources));
  REQUIRE_FALSE(s.ok());
  return std::string(s.status().message());
}

TEST_CASE("linux.resources: every field", "[resources]") {
  auto s = ParseSpec(Config(R"({
    "devices": [{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"},
                {"allow": true, "type": "b", "major": -1}],
    "memory": {"limit": 1000, "reservation": 500, "swap": -1, "kernel": 1, "kernelTCP": 2,
               "swappiness": 60, "disableOOMKiller": true, "useHierarchy": true,
               "checkBeforeUpdate": true},
    "cpu": {"shares": 1024, "quota": 50000, "burst": 10, "period": 100000,
            "realtimeRuntime": 1, "realtimePeriod": 2, "cpus": "0-1", "mems": "0", "idle": 1},
    "pids": {"limit": 32},
    "blockIO": {"weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": 50}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 3}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 4}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
    "network": {"classID": 7, "priorities": [{"name": "eth0", "priority": 2}]},
    "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
    "unified": {"memory.high": "max", "io.max": "8:0 rbps=1"}
  })"));
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  REQUIRE(s->linux_cfg.resources.has_value());
  const Resources& r = *s->linux_cfg.resources;
  REQUIRE(r.devices.size() == 3);
  CHECK(r.devices[0].type == 'a');
  CHECK_FALSE(r.devices[0].major.has_value());
  CHECK(r.devices[1].type == 'c');
  CHECK(r.devices[1].major == 1);
  CHECK(r.devices[1].access == "r");
  CHECK_FALSE(r.devices[2].major.has_value());  // -1 is a wildcard
  CHECK(r.devices[2].access == "rwm");          // default
  CHECK(r.memory->limit == 1000);
  CHECK(r.memory->swap == -1);
  CHECK(r.memory->swappiness == 60u);
  CHECK(r.memory->disable_oom_killer == true);
  CHECK(r.memory->check_before_update == true);
  CHECK(r.cpu->shares == 1024u);
  CHECK(r.cpu->quota == 50000);
  CHECK(r.cpu->burst == 10u);
  CHECK(r.cpu->realtime_period == 2u);
  CHECK(r.cpu->cpus == "0-1");
  CHECK(r.cpu->idle == 1);
  CHECK(r.pids->limit == 32);
  CHECK(r.block_io->weight == 500);
  CHECK(r.block_io->weight_device[0].leaf_weight == 50);
  CHECK(r.block_io->throttle_write_iops_device[0].rate == 4u);
  CHECK(r.hugepage_limits[0].page_size == "2MB");
  CHECK(r.network->class_id == 7u);
  CHECK(r.network->priorities[0].name == "eth0");
  CHECK(r.rdma.at("mlx5_1").hca_objects == 10000u);
  CHECK(r.unified.at("io.max") == "8:0 rbps=1");
}

TEST_CASE("linux.resources absent or empty", "[resources]") {
  auto none = ParseSpec(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"}})");
  REQUIRE(none.ok());
  CHECK_FALSE(none->linux_cfg.resources.has_value());
  auto empty = ParseSpec(Config("{}"));
  REQUIRE(empty.ok());
  REQUIRE(empty->linux_cfg.resources.has_value());
  CHECK_FALSE(empty->linux_cfg.resources->memory.has_value());
}

TEST_CASE("docker's unset swappiness (-1 as uint64) is unset", "[resources]") {
  auto s = ParseSpec(Config(R"({"memory":{"swappiness":18446744073709551615}})"));
  REQUIRE(s.ok());
  CHECK_FALSE(s->linux_cfg.resources->memory->swappiness.has_value());
}

TEST_CASE("linux.resources errors name the field", "[resources]") {
  CHECK(ErrorOf(R"({"memory":{"limit":"1G"}})") ==
        "linux.resources.memory.limit: must be an integer");
  // -1 is "unlimited"; below it is a mistake, not another spelling of it.
  CHECK(ErrorOf(R"({"memory":{"limit":-2}})") ==
        "linux.resources.memory.limit: must be a number of bytes, or -1 for unlimited");
  CHECK(ErrorOf(R"({"memory":{"swap":-5}})") ==
        "linux.resources.memory.swap: must be a number of bytes, or -1 for unlimited");
  CHECK(ErrorOf(R"({"memory":{"swappiness":101}})") ==
        "linux.resources.memory.swappiness: must be between 0 and 100");
  CHECK(ErrorOf(R"({"cpu":{"idle":2}})") == "linux.resources.cpu.idle: must be 0 or 1");
  CHECK(ErrorOf(R"({"pids":{}})") == "linux.resources.pids.limit: is required");
  CHECK(ErrorOf(R"({"devices":[{"access":"r"}]})") ==
        "linux.resources.devices[0].allow: is required");
  CHECK(ErrorOf(R"({"devices":[{"allow":true,"type":"x"}]})") ==
        "linux.resources.devices[0].type: must be one of a, c, b");
  CHECK(ErrorOf(R"({"devices":[{"allow":true,"access":"rwx"}]})") ==
        "linux.resources.devices[0].access: must be a combination of r, w and m");
  CHECK(ErrorOf(R"({"blockIO":{"weight":5}})") ==
        "linux.resources.blockIO.weight: must be between 10 and 1000");
  CHECK(ErrorOf(R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0}]}})") ==
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required");
  CHECK(ErrorOf(R"({"hugepageLimits":[{"pageSize":"2M","limit":1}]})") ==
        "linux.resources.hugepageLimits[0].pageSize: must be a size like 2MB or 1GB, got \"2M\"");
  CHECK(ErrorOf(R"({"unified":{"../x":"1"}})") ==
        "linux.resources.unified.../x: key must be a cgroup file name such as memory.high");
  CHECK(ErrorOf(R"({"unified":{"memory.high":1}})") ==
        "linux.resources.unified.memory.high: must be a string");
  CHECK(ErrorOf("[]") == "linux.resources: must be an object");
}

TEST_CASE("a standalone resources document (update --resources)", "[resources]") {
  auto r = ParseResourcesDocument(R"({"memory":{"limit":2000},"pids":{"limit":0}})", "-");
  REQUIRE(r.ok());
  CHECK(r->memory->limit == 2000);
  CHECK(r->pids->limit == 0);
  auto bad = ParseResourcesDocument(R"({"cpu":{"shares":-1}})", "--resources");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "--resources: cpu.shares: must be a non-negative integer");
  CHECK_FALSE(ParseResourcesDocument("{", "--resources").ok());
}

}  // namespace
}  // namespace berth::spec
