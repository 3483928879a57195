#include "runtime/cgroups/systemd_unit_name.h"

#include <catch2/catch.hpp>
#include <string>

namespace berth::cgroups {
namespace {

TEST_CASE("systemd cgroupsPath: what dockerd, podman and the kubelet send", "[systemd]") {
  auto docker = ParseSystemdCgroupsPath("system.slice:docker:abc123", "abc123", false);
  REQUIRE(docker.ok());
  CHECK(docker->slice == "system.slice");
  CHECK(docker->unit == "docker-abc123.scope");

  auto podman = ParseSystemdCgroupsPath("machine.slice:libpod:f00", "f00", false);
  REQUIRE(podman.ok());
  CHECK(podman->slice == "machine.slice");
  CHECK(podman->unit == "libpod-f00.scope");

  auto kubelet =
      ParseSystemdCgroupsPath("kubepods-burstable-pod1234.slice:cri-containerd:c1", "c1", false);
  REQUIRE(kubelet.ok());
  CHECK(kubelet->slice == "kubepods-burstable-pod1234.slice");
  CHECK(kubelet->unit == "cri-containerd-c1.scope");
}

TEST_CASE("systemd cgroupsPath: defaults and the root slice", "[systemd]") {
  auto empty = ParseSystemdCgroupsPath("", "web", false);
  REQUIRE(empty.ok());
  CHECK(empty->slice == "system.slice");
  CHECK(empty->unit == "berth-web.scope");

  auto user = ParseSystemdCgroupsPath("", "web", true);
  REQUIRE(user.ok());
  CHECK(user->slice == "user.slice");

  auto no_slice = ParseSystemdCgroupsPath(":p:n", "x", false);
  REQUIRE(no_slice.ok());
  CHECK(no_slice->slice == "system.slice");
  CHECK(no_slice->unit == "p-n.scope");

  auto root = ParseSystemdCgroupsPath("-:p:n", "x", false);
  REQUIRE(root.ok());
  CHECK(root->slice == "-.slice");

  auto no_prefix = ParseSystemdCgroupsPath("system.slice::n", "x", false);
  REQUIRE(no_prefix.ok());
  CHECK(no_prefix->unit == "n.scope");
}

TEST_CASE("systemd cgroupsPath: the wrong form names the field and the form", "[systemd]") {
  for (const char* bad :
       {"/docker/abc", "docker/abc", "system.slice:abc", "a:b:c:d", "system:docker:abc",
        "system.slice:docker:", "a/b.slice:p:n", "-a.slice:p:n", "a--b.slice:p:n",
        "system.slice:do cker:x", "system.slice:docker:a+b"}) {
    INFO(bad);
    auto r = ParseSystemdCgroupsPath(bad, "x", false);
    REQUIRE_FALSE(r.ok());
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(r.status().message().find("linux.cgroupsPath") != std::string::npos);
    CHECK(r.status().message().find("slice:prefix:name") != std::string::npos);
  }
  auto slice_unit = ParseSystemdCgroupsPath("system.slice:p:pod.slice", "x", false);
  REQUIRE_FALSE(slice_unit.ok());
  CHECK(absl::IsUnimplemented(slice_unit.status()));
}

TEST_CASE("ExpandSlice: systemd's parents of a dashed slice", "[systemd]") {
  CHECK(ExpandSlice("system.slice").value() == "/system.slice");
  CHECK(ExpandSlice("a-b-c.slice").value() == "/a.slice/a-b.slice/a-b-c.slice");
  CHECK(ExpandSlice("-.slice").value() == "");
  CHECK(ExpandSlice("user-1000.slice").value() == "/user.slice/user-1000.slice");
  for (const char* bad : {"system", "a-.slice", "-a.slice", "a--b.slice", ".slice", "a/b.slice"}) {
    INFO(bad);
    CHECK_FALSE(ExpandSlice(bad).ok());
  }
}

TEST_CASE("a systemd-form cgroupsPath is told apart from a path", "[systemd]") {
  CHECK(LooksLikeSystemdCgroupsPath("system.slice:docker:abc"));
  CHECK(LooksLikeSystemdCgroupsPath(":berth:x"));
  CHECK_FALSE(LooksLikeSystemdCgroupsPath("/docker/abc"));
  CHECK_FALSE(LooksLikeSystemdCgroupsPath("/a:b:c"));
  CHECK_FALSE(LooksLikeSystemdCgroupsPath("berth/x"));
  CHECK_FALSE(LooksLikeSystemdCgroupsPath(""));
}

}  // namespace
}  // namespace berth::cgroups
