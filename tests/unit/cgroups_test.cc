#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "runtime/cgroups/hierarchy.h"
#include "runtime/cgroups/manager.h"

namespace berth::cgroups {
namespace {

using Strings = std::vector<std::string>;

// A hybrid host (systemd's "hybrid" layout), as seen in this machine's
// /proc/self/mountinfo: v1 controllers each on their own hierarchy, a named
// systemd hierarchy, and cgroup2 at /sys/fs/cgroup/unified. Non-cgroup mounts
// are kept to check they are skipped.
constexpr char kHybridMountinfo[] =
    "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw,discard\n"
    "23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "42 22 0:39 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n";

constexpr char kHybridProcCgroup[] =
    "9:name=systemd:/user.slice/session-1.scope\n"
    "8:pids:/user.slice/user-1000.slice\n"
    "7:blkio:/\n"
    "6:freezer:/\n"
    "5:devices:/user.slice\n"
    "4:memory:/process_api/2458809c335fb7137783213cd8a76281\n"
    "3:cpuset:/\n"
    "2:cpuacct:/acct\n"
    "1:cpu:/cpu\n"
    "0::/user.slice/user-1000.slice/session-1.scope\n";

// systemd's "unified" layout on a current distribution.
constexpr char kV2Mountinfo[] =
    "24 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro\n"
    "25 24 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
    "26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "27 25 0:7 / /sys/kernel/debug rw,nosuid,nodev,noexec,relatime shared:23 - debugfs debugfs "
    "rw\n";

constexpr char kV2ProcCgroup[] = "0::/user.slice/user-1000.slice/session-2.scope\n";

// A legacy v1 host (e.g. CentOS 7) with co-mounted cpu,cpuacct and
// net_cls,net_prio and systemd's extra superblock options.
constexpr char kV1Mountinfo[] =
    "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup "
    "cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "30 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - "
    "cgroup cgroup rw,net_cls,net_prio\n"
    "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup "
    "rw,memory\n"
    "32 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup "
    "rw,cpuset,clone_children\n";

constexpr char kV1ProcCgroup[] =
    "11:cpuset:/\n"
    "4:memory:/system.slice/sshd.service\n"
    "3:net_cls,net_prio:/\n"
    "2:cpu,cpuacct:/system.slice/sshd.service\n"
    "1:name=systemd:/system.slice/sshd.service\n";

const Hierarchy* FindMount(const std::vector<Hierarchy>& hs, const std::string& mountpoint) {
  for (const Hierarchy& h : hs) {
    if (h.mountpoint == mountpoint) return &h;
  }
  return nullptr;
}

Strings Mountpoints(const std::vector<Hierarchy>& hs) {
  Strings out;
  for (const Hierarchy& h : hs) out.push_back(h.mountpoint);
  return out;
}

TEST_CASE("ParseHierarchies finds every hierarchy of a hybrid host", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kHybridMountinfo, kHybridProcCgroup);
  CHECK(Mountpoints(hs) == Strings{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct",
                                   "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/memory",
                                   "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer",
                                   "/sys/fs/cgroup/blkio", "/sys/fs/cgroup/pids",
                                   "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"});

  const Hierarchy* cpu = FindMount(hs, "/sys/fs/cgroup/cpu");
  REQUIRE(cpu != nullptr);
  CHECK_FALSE(cpu->unified);
  CHECK(cpu->controllers == Strings{"cpu"});
  CHECK(cpu->own_path == "/cpu");

  const Hierarchy* acct = FindMount(hs, "/sys/fs/cgroup/cpuacct");
  REQUIRE(acct != nullptr);
  CHECK(acct->controllers == Strings{"cpuacct"});
  CHECK(acct->own_path == "/acct");

  const Hierarchy* memory = FindMount(hs, "/sys/fs/cgroup/memory");
  REQUIRE(memory != nullptr);
  CHECK(memory->controllers == Strings{"memory"});
  CHECK(memory->own_path == "/process_api/2458809c335fb7137783213cd8a76281");

  const Hierarchy* devices = FindMount(hs, "/sys/fs/cgroup/devices");
  REQUIRE(devices != nullptr);
  CHECK(devices->own_path == "/user.slice");

  const Hierarchy* freezer = FindMount(hs, "/sys/fs/cgroup/freezer");
  REQUIRE(freezer != nullptr);
  CHECK(freezer->own_path == "/");

  const Hierarchy* pids = FindMount(hs, "/sys/fs/cgroup/pids");
  REQUIRE(pids != nullptr);
  CHECK(pids->own_path == "/user.slice/user-1000.slice");

  const Hierarchy* systemd = FindMount(hs, "/sys/fs/cgroup/systemd");
  REQUIRE(systemd != nullptr);
  CHECK_FALSE(systemd->unified);
  CHECK(systemd->controllers == Strings{"name=systemd"});
  CHECK(systemd->own_path == "/user.slice/session-1.scope");

  const Hierarchy* unified = FindMount(hs, "/sys/fs/cgroup/unified");
  REQUIRE(unified != nullptr);
  CHECK(unified->unified);
  CHECK(unified->controllers.empty());
  CHECK(unified->own_path == "/user.slice/user-1000.slice/session-1.scope");
}

TEST_CASE("ParseHierarchies finds the single hierarchy of a pure v2 host", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kV2Mountinfo, kV2ProcCgroup);
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].mountpoint == "/sys/fs/cgroup");
  CHECK(hs[0].unified);
  CHECK(hs[0].controllers.empty());
  CHECK(hs[0].own_path == "/user.slice/user-1000.slice/session-2.scope");
}

TEST_CASE("ParseHierarchies handles co-mounted v1 controllers", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kV1Mountinfo, kV1ProcCgroup);
  CHECK(Mountpoints(hs) == Strings{"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/cpu,cpuacct",
                                   "/sys/fs/cgroup/net_cls,net_prio", "/sys/fs/cgroup/memory",
                                   "/sys/fs/cgroup/cpuset"});
  for (const Hierarchy& h : hs) CHECK_FALSE(h.unified);

  const Hierarchy* cpu = FindMount(hs, "/sys/fs/cgroup/cpu,cpuacct");
  REQUIRE(cpu != nullptr);
  CHECK(cpu->controllers == Strings{"cpu", "cpuacct"});
  CHECK(cpu->own_path == "/system.slice/sshd.service");

  const Hierarchy* net = FindMount(hs, "/sys/fs/cgroup/net_cls,net_prio");
  REQUIRE(net != nullptr);
  CHECK(net->controllers == Strings{"net_cls", "net_prio"});
  CHECK(net->own_path == "/");

  // Superblock options that are not controllers are dropped.
  const Hierarchy* systemd = FindMount(hs, "/sys/fs/cgroup/systemd");
  REQUIRE(systemd != nullptr);
  CHECK(systemd->controllers == Strings{"name=systemd"});
  CHECK(systemd->own_path == "/system.slice/sshd.service");

  const Hierarchy* cpuset = FindMount(hs, "/sys/fs/cgroup/cpuset");
  REQUIRE(cpuset != nullptr);
  CHECK(cpuset->controllers == Strings{"cpuset"});
}

TEST_CASE("ParseHierarchies drops v1 options that are not controllers", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "40 31 0:37 / /sys/fs/cgroup/cpuset ro,relatime - cgroup cgroup "
      "ro,cpuset,noprefix,cpuset_v2_mode,release_agent=/x,clone_children,xattr,favordynmods\n",
      "3:cpuset:/a\n");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].controllers == Strings{"cpuset"});
  CHECK(hs[0].own_path == "/a");
}

TEST_CASE("ParseHierarchies skips v1 mounts without any controller", "[cgroups]") {
  CHECK(
      ParseHierarchies("40 31 0:37 / /sys/fs/cgroup/x rw - cgroup cgroup rw,xattr\n", "").empty());
}

TEST_CASE("ParseHierarchies keeps the first mount of a hierarchy", "[cgroups]") {
  SECTION("v1") {
    std::vector<Hierarchy> hs = ParseHierarchies(
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "50 31 0:32 / /sys/fs/cgroup/memory2 rw,relatime - cgroup cgroup rw,memory\n"
        "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "51 25 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
        "52 25 0:25 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
        "4:memory:/m\n2:cpu,cpuacct:/c\n");
    CHECK(Mountpoints(hs) == Strings{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"});
  }
  SECTION("v2") {
    std::vector<Hierarchy> hs = ParseHierarchies(
        "26 25 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
        "60 26 0:23 / /sys/fs/cgroup/again rw - cgroup2 cgroup2 rw,nsdelegate\n",
        "0::/x\n");
    REQUIRE(hs.size() == 1);
    CHECK(hs[0].mountpoint == "/sys/fs/cgroup");
    CHECK(hs[0].own_path == "/x");
  }
}

TEST_CASE("ParseHierarchies ignores cgroup mounts outside /sys/fs/cgroup", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "70 22 0:32 / /run/lxcfs/controllers/memory rw - cgroup memory rw,memory\n"
      "71 22 0:38 / /mnt/cgroup2 rw - cgroup2 cgroup2 rw\n"
      "72 22 0:32 / /var/lib/docker/x/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n",
      "4:memory:/m\n0::/u\n");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].mountpoint == "/sys/fs/cgroup/memory");
  CHECK(hs[0].own_path == "/m");
}

// /sys/fs/cgroup2 only shares a string prefix with /sys/fs/cgroup; it is not
// under it (some hosts mount an extra cgroup2 tree there next to v1).
TEST_CASE("ParseHierarchies ignores sibling directories that share the prefix", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "80 23 0:40 / /sys/fs/cgroup2 rw,relatime - cgroup2 cgroup2 rw\n",
      "4:memory:/m\n0::/u\n");
  CHECK(Mountpoints(hs) == Strings{"/sys/fs/cgroup/memory"});
}

// Inside a v1 container without a cgroup namespace (docker-in-docker), each
// hierarchy is a bind mount of the container's own cgroup: mountinfo's root
// field is /docker/<id> while /proc/self/cgroup still shows the host path.
// runc's GetOwnCgroupPath makes the path relative to the mount root
// (filepath.Rel(root, cgroup)); otherwise relative cgroupsPaths resolve to
// /sys/fs/cgroup/memory/docker/<id>/docker/<id>/..., which does not exist.
TEST_CASE("ParseHierarchies makes own_path relative to the mount's root", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "1205 1204 0:32 /docker/0123abcd /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup "
      "rw,memory\n",
      "4:memory:/docker/0123abcd\n");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].own_path == "/");
}

TEST_CASE("ParseHierarchies skips non-cgroup filesystems and malformed lines", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "garbage\n"
      "1 2 3\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/pids rw - cgroup\n"
      "\n"
      "34 31 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "4:memory:/m");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].mountpoint == "/sys/fs/cgroup/memory");
  CHECK(hs[0].own_path == "/m");
}

TEST_CASE("ParseHierarchies accepts optional fields before the separator", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(
      "26 25 0:23 / /sys/fs/cgroup rw shared:4 master:1 propagate_from:2 - cgroup2 cgroup2 rw\n",
      "0::/\n");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].unified);
  CHECK(hs[0].own_path == "/");
}

TEST_CASE("ParseHierarchies own_path defaults to / when /proc/self/cgroup has no entry",
          "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kHybridMountinfo, "4:memory:/m\n");
  REQUIRE(hs.size() == 10);
  for (const Hierarchy& h : hs) {
    INFO(h.mountpoint);
    CHECK(h.own_path == (h.mountpoint == "/sys/fs/cgroup/memory" ? "/m" : "/"));
  }
}

TEST_CASE("ParseHierarchies matches the v2 entry only by ID 0 and no controllers", "[cgroups]") {
  // A v1 line must not be taken for the unified hierarchy, and the v2 line
  // (empty controller list) must not be taken for a v1 one.
  std::vector<Hierarchy> hs = ParseHierarchies(kHybridMountinfo,
                                               "1:cpu:/c\n"
                                               "0::/unified/path\n"
                                               "9:name=systemd:/s\n");
  const Hierarchy* unified = FindMount(hs, "/sys/fs/cgroup/unified");
  REQUIRE(unified != nullptr);
  CHECK(unified->own_path == "/unified/path");
  const Hierarchy* memory = FindMount(hs, "/sys/fs/cgroup/memory");
  REQUIRE(memory != nullptr);
  CHECK(memory->own_path == "/");
}

TEST_CASE("ParseHierarchies keeps colons inside the cgroup path", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kV2Mountinfo, "0::/system.slice/a:b:c\n");
  REQUIRE(hs.size() == 1);
  CHECK(hs[0].own_path == "/system.slice/a:b:c");
}

TEST_CASE("ParseHierarchies of empty text is empty", "[cgroups]") {
  CHECK(ParseHierarchies("", "").empty());
}

Hierarchy WithOwnPath(const std::string& own_path) {
  Hierarchy h;
  h.mountpoint = "/sys/fs/cgroup";
  h.unified = true;
  h.own_path = own_path;
  return h;
}

TEST_CASE("ResolveCgroupPath uses /<id> for an empty path", "[cgroups]") {
  CHECK(ResolveCgroupPath("", "c1", WithOwnPath("/user.slice")) == "/c1");
  CHECK(ResolveCgroupPath("", "c1", WithOwnPath("/")) == "/c1");
}

TEST_CASE("ResolveCgroupPath keeps absolute paths, cleaned", "[cgroups]") {
  Hierarchy h = WithOwnPath("/user.slice");
  CHECK(ResolveCgroupPath("/machine/c1", "c1", h) == "/machine/c1");
  CHECK(ResolveCgroupPath("/a/../b//c", "c1", h) == "/b/c");
  CHECK(ResolveCgroupPath("/a/./b/", "c1", h) == "/a/b");
  CHECK(ResolveCgroupPath("/../../x", "c1", h) == "/x");
  CHECK(ResolveCgroupPath("/", "c1", h) == "/");
  CHECK(ResolveCgroupPath("//", "c1", h) == "/");
}

TEST_CASE("ResolveCgroupPath joins relative paths to the own cgroup", "[cgroups]") {
  CHECK(ResolveCgroupPath("c1", "c1", WithOwnPath("/user.slice/s.scope")) ==
        "/user.slice/s.scope/c1");
  CHECK(ResolveCgroupPath("berth/c1", "x", WithOwnPath("/")) == "/berth/c1");
  CHECK(ResolveCgroupPath("./a//b/", "x", WithOwnPath("/p")) == "/p/a/b");
  CHECK(ResolveCgroupPath("../sibling", "x", WithOwnPath("/p/q")) == "/p/sibling");
  CHECK(ResolveCgroupPath("../../../..", "x", WithOwnPath("/p/q")) == "/");
}

TEST_CASE("ResolveCgroupPath uses each hierarchy's own path", "[cgroups]") {
  std::vector<Hierarchy> hs = ParseHierarchies(kHybridMountinfo, kHybridProcCgroup);
  const Hierarchy* memory = FindMount(hs, "/sys/fs/cgroup/memory");
  const Hierarchy* unified = FindMount(hs, "/sys/fs/cgroup/unified");
  REQUIRE(memory != nullptr);
  REQUIRE(unified != nullptr);
  CHECK(ResolveCgroupPath("c", "id", *memory) == "/process_api/2458809c335fb7137783213cd8a76281/c");
  CHECK(ResolveCgroupPath("c", "id", *unified) == "/user.slice/user-1000.slice/session-1.scope/c");
  CHECK(ResolveCgroupPath("/abs", "id", *memory) == "/abs");
}

}  // namespace
}  // namespace berth::cgroups
