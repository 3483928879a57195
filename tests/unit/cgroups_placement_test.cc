// What state.json records about a container's cgroup, and how the manager is
// rebuilt from it.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "lib/file_util.h"
#include "runtime/cgroups/controllers_v2.h"
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

// A cgroup2 tree of plain files: root R, a parent R/p, the container R/p/c.
// Plain files keep what is written last, so each subtree_control shows the
// one write made to it.
class FakeTree {
 public:
  FakeTree() {
    char dir[] = "/tmp/berth-controllers-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    root_ = dir;
    REQUIRE(::mkdir((root_ + "/p").c_str(), 0755) == 0);
    REQUIRE(::mkdir((root_ + "/p/c").c_str(), 0755) == 0);
  }
  ~FakeTree() { CHECK(system(("rm -rf " + root_).c_str()) == 0); }
  void Put(const std::string& rel, const std::string& text) const {
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string Read(const std::string& rel) const { return ReadFile(root_ + "/" + rel).value(); }
  std::string path(const std::string& rel) const { return root_ + "/" + rel; }

 private:
  std::string root_;
};

TEST_CASE("cgroup2: the controllers of writes", "[cgroups][placement]") {
  std::vector<FileWrite> writes = {
      {"", {{"memory.max", "1"}}, "linux.resources.memory.limit"},
      {"", {{"memory.low", "1"}}, "linux.resources.memory.reservation"},
      {"", {{"io.bfq.weight", "1"}, {"io.weight", "1"}}, "w"},
      {"", {{"cgroup.max.depth", "1"}}, "u"},
      {"", {{"hugetlb.2MB.rsvd.max", "1"}}, "h", true}};
  CHECK(
      ControllersOfWrites(writes) ==
      std::map<std::string, std::string>{{"io", "w"}, {"memory", "linux.resources.memory.limit"}});
}

TEST_CASE("cgroup2: missing controllers are enabled from the root down, with + only",
          "[cgroups][placement]") {
  FakeTree t;
  t.Put("cgroup.controllers", "cpu io memory pids\n");
  t.Put("cgroup.subtree_control", "cpu\n");
  t.Put("p/cgroup.controllers", "cpu\n");  // memory: what this level lacks is not asked for
  t.Put("p/cgroup.subtree_control", "");
  t.Put("p/c/cgroup.controllers", "cpu\n");
  t.Put("p/c/cgroup.subtree_control", "untouched");
  EnableFailures failures = EnableControllersV2(t.path("p/c"), {"cpu", "memory", "hugetlb"});
  CHECK(failures.empty());
  CHECK(t.Read("cgroup.subtree_control") == "+memory");  // cpu was on; no hugetlb here
  CHECK(t.Read("p/cgroup.subtree_control") == "+cpu");
  CHECK(t.Read("p/c/cgroup.subtree_control") == "untouched");  // the container's own
}

TEST_CASE("cgroup2: when enabling all at once fails, one by one", "[cgroups][placement]") {
  FakeTree t;
  t.Put("cgroup.controllers", "cpu hugetlb memory\n");
  t.Put("cgroup.subtree_control", "");
  t.Put("p/cgroup.controllers", "");
  t.Put("p/cgroup.subtree_control", "");
  // The kernel refuses hugetlb here, and so any write that names it.
  std::vector<std::string> calls;
  auto kernel = [&](const std::string& path, absl::string_view value) -> absl::Status {
    calls.push_back(std::string(value));
    if (absl::StrContains(value, "hugetlb")) return absl::PermissionDeniedError("EPERM");
    return WriteExisting(path, value);
  };
  EnableFailures failures =
      EnableControllersV2(t.path("p/c"), {"cpu", "hugetlb", "memory"}, kernel);
  CHECK(calls == std::vector<std::string>{"+cpu +hugetlb +memory", "+cpu", "+hugetlb", "+memory"});
  REQUIRE(failures.size() == 1);
  CHECK(failures["hugetlb"] == "enabling it failed: EPERM");
}

TEST_CASE("cgroup2: the error says which level lacks the controller, and why",
          "[cgroups][placement]") {
  FakeTree t;
  t.Put("cgroup.controllers", "cpu memory\n");
  t.Put("cgroup.subtree_control", "cpu memory\n");
  t.Put("p/cgroup.controllers", "cpu memory\n");
  t.Put("p/cgroup.subtree_control", "\n");
  t.Put("p/c/cgroup.controllers", "\n");
  std::string c = t.path("p/c");
  absl::Status st = CheckControllersV2(c, {{"memory", "linux.resources.memory.limit"}},
                                       {{"memory", "enabling it failed: EBUSY"}});
  CHECK(std::string(st.message()) ==
        "linux.resources.memory.limit: the memory cgroup controller is not available in " + c +
            ": enabling it failed: EBUSY");
  st = CheckControllersV2(c, {{"hugetlb", "linux.resources.hugepageLimits[0]"}}, {});
  CHECK(std::string(st.message()) ==
        "linux.resources.hugepageLimits[0]: the hugetlb cgroup controller is not available in " +
            c + ": not in " + t.path("cgroup.controllers") +
            ": the kernel has no hugetlb controller for cgroup2 (not built in, or bound to a "
            "cgroup v1 hierarchy)");
  t.Put("p/c/cgroup.controllers", "memory\n");
  CHECK(CheckControllersV2(c, {{"memory", "x"}}, {}).ok());
}

}  // namespace
}  // namespace berth::cgroups
