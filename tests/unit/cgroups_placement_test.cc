// What state.json records about a container's cgroup, and how the manager is
// rebuilt from it.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "runtime/cgroups/manager.h"
#include "runtime/cgroups/placement.h"
#include "runtime/state/container_state.h"

namespace berth::cgroups {
namespace {

using Paths = std::map<std::string, std::string>;

TEST_CASE("placement keys: controllers joined, unified for cgroup2", "[cgroups][placement]") {
  Placement p;
  p.mode = Mode::kHybrid;
  Hierarchy cpu;
  cpu.controllers = {"cpu", "cpuacct"};
  Hierarchy systemd;
  systemd.controllers = {"name=systemd"};
  Hierarchy unified;
  unified.unified = true;
  p.dirs = {{cpu, "/sys/fs/cgroup/cpu,cpuacct/c"},
            {systemd, "/sys/fs/cgroup/systemd/c"},
            {unified, "/sys/fs/cgroup/unified/c"}};
  CHECK(p.PathsByKey() == Paths{{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/c"},
                                {"name=systemd", "/sys/fs/cgroup/systemd/c"},
                                {"unified", "/sys/fs/cgroup/unified/c"}});
  REQUIRE(p.FindController("cpuacct") != nullptr);
  CHECK(p.FindController("cpuacct")->path == "/sys/fs/cgroup/cpu,cpuacct/c");
  CHECK(p.FindController("memory") == nullptr);
  REQUIRE(p.Unified() != nullptr);
  CHECK(p.Unified()->path == "/sys/fs/cgroup/unified/c");
}

TEST_CASE("a placement survives the round trip through its record", "[cgroups][placement]") {
  Paths paths = {{"cpu,cpuacct", "/a"}, {"memory", "/b"}, {"unified", "/c"}};
  Placement p = LoadPlacement(Mode::kHybrid, paths, {"/b", "/c"});
  CHECK(p.mode == Mode::kHybrid);
  CHECK(p.PathsByKey() == paths);
  CHECK(p.created_dirs == std::vector<std::string>{"/b", "/c"});
  REQUIRE(p.FindController("cpu") != nullptr);
  CHECK(p.FindController("cpu")->path == "/a");
  CHECK(p.Unified()->path == "/c");
}

TEST_CASE("the recorded mode picks the back end", "[cgroups][placement]") {
  CHECK(LoadManager("v1", {}, {})->mode() == Mode::kV1);
  CHECK(LoadManager("v2", {}, {})->mode() == Mode::kV2);
  CHECK(LoadManager("hybrid", {}, {})->mode() == Mode::kHybrid);
}

TEST_CASE("HierarchiesForMode", "[cgroups][placement]") {
  Hierarchy v1;
  v1.controllers = {"memory"};
  Hierarchy v2;
  v2.unified = true;
  CHECK(HierarchiesForMode({v1, v2}, Mode::kHybrid).size() == 2);
  auto only_v2 = HierarchiesForMode({v1, v2}, Mode::kV2);
  REQUIRE(only_v2.size() == 1);
  CHECK(only_v2[0].unified);
  auto only_v1 = HierarchiesForMode({v1, v2}, Mode::kV1);
  REQUIRE(only_v1.size() == 1);
  CHECK_FALSE(only_v1[0].unified);
}

TEST_CASE("state.json keeps the cgroup mode and paths", "[cgroups][placement]") {
  state::ContainerState s;
  s.id = "c";
  s.cgroup_mode = "hybrid";
  s.cgroup_paths = {{"memory", "/sys/fs/cgroup/memory/c"}, {"unified", "/sys/fs/cgroup/unified/c"}};
  auto back = state::ParseState(state::SerializeState(s));
  REQUIRE(back.ok());
  CHECK(back->cgroup_mode == "hybrid");
  CHECK(back->cgroup_paths == s.cgroup_paths);
}

TEST_CASE("state.json written before cgroup modes were recorded still parses",
          "[cgroups][placement]") {
  auto old = state::ParseState(
      R"({"ociVersion":"1.2.0","id":"c","pid":1,"pidStartTime":2,"bundle":"/b","rootfs":"/r",)"
      R"("created":"x","owner":"root","annotations":{},"ownPidNamespace":true,)"
      R"("createdCgroupDirs":[],"cgroupDirs":[]})");
  REQUIRE(old.ok());
  CHECK(old->cgroup_mode.empty());
  CHECK(old->cgroup_paths.empty());
}

}  // namespace
}  // namespace berth::cgroups
