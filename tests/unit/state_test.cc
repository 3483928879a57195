#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/state/container_state.h"
#include "runtime/state/state_dir.h"

namespace berth::state {
namespace {

ContainerState FullState() {
  ContainerState s;
  s.oci_version = "1.2.0";
  s.id = "web-1";
  s.pid = 4242;
  s.pid_start_time = 123456789;
  s.bundle = "/run/bundles/web 1";
  s.rootfs = "/run/bundles/web 1/rootfs";
  s.created = "2024-05-06T07:08:09.123456789Z";
  s.owner = "root";
  s.annotations = {{"org.opencontainers.image.ref.name", "alpine"},
                   {"quote\"key", "line\nbreak\t\\ \xc3\xa9"},
                   {"empty", ""}};
  s.created_cgroup_dirs = {"/sys/fs/cgroup/berth", "/sys/fs/cgroup/berth/web-1"};
  s.cgroup_mode = "hybrid";
  s.cgroup_paths = {{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/berth/web-1"},
                    {"memory", "/sys/fs/cgroup/memory/berth/web 1"},
                    {"unified", "/sys/fs/cgroup/unified/berth/web-1"}};
  return s;
}

void CheckSame(const ContainerState& a, const ContainerState& b) {
  CHECK(a.oci_version == b.oci_version);
  CHECK(a.id == b.id);
  CHECK(a.pid == b.pid);
  CHECK(a.pid_start_time == b.pid_start_time);
  CHECK(a.bundle == b.bundle);
  CHECK(a.rootfs == b.rootfs);
  CHECK(a.created == b.created);
  CHECK(a.annotations == b.annotations);
  CHECK(a.created_cgroup_dirs == b.created_cgroup_dirs);
  CHECK(a.cgroup_mode == b.cgroup_mode);
  CHECK(a.cgroup_paths == b.cgroup_paths);
}

ContainerState MustParse(const std::string& json) {
  INFO(json);
  absl::StatusOr<ContainerState> s = ParseState(json);
  if (!s.ok()) FAIL(s.status().message());
  return *std::move(s);
}

std::string ErrorOf(const std::string& json) {
  INFO(json);
  absl::StatusOr<ContainerState> s = ParseState(json);
  REQUIRE_FALSE(s.ok());
  CHECK(absl::IsInvalidArgument(s.status()));
  return std::string(s.status().message());
}

// The members of a valid state.json, as raw JSON text.
std::vector<std::pair<std::string, std::string>> ValidMembers() {
  return {
      {"ociVersion", R"("1.0.2")"},
      {"id", R"("c")"},
      {"pid", "10"},
      {"pidStartTime", "20"},
      {"bundle", R"("/b")"},
      {"rootfs", R"("/b/rootfs")"},
      {"created", R"("2024-01-01T00:00:00Z")"},
      {"annotations", R"({"a": "b"})"},
      {"createdCgroupDirs", R"(["/sys/fs/cgroup/c"])"},
      {"cgroupMode", R"("v1")"},
      {"cgroupPaths", R"({"pids": "/sys/fs/cgroup/pids/c"})"},
  };
}

// A state.json with `key` left out (or its value replaced by `value`).
std::string StateJson(const std::string& key = "", const std::string* value = nullptr) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : ValidMembers()) {
    if (k == key && value == nullptr) continue;
    parts.push_back(absl::StrCat("\"", k, "\": ", k == key ? *value : v));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string StateJsonWith(const std::string& key, const std::string& value) {
  return StateJson(key, &value);
}

TEST_CASE("StatusName names every status", "[state]") {
  CHECK(std::string(StatusName(Status::kCreating)) == "creating");
  CHECK(std::string(StatusName(Status::kCreated)) == "created");
  CHECK(std::string(StatusName(Status::kRunning)) == "running");
  CHECK(std::string(StatusName(Status::kPaused)) == "paused");
  CHECK(std::string(StatusName(Status::kStopped)) == "stopped");
}

TEST_CASE("SerializeState and ParseState round-trip every field", "[state]") {
  ContainerState s = FullState();
  ContainerState parsed = MustParse(SerializeState(s));
  CheckSame(parsed, s);
  // owner is the one field not stored: it comes from the state directory.
  REQUIRE_FALSE(s.owner.empty());
  CHECK(parsed.owner.empty());
}

TEST_CASE("SerializeState and ParseState round-trip empty and extreme values", "[state]") {
  ContainerState s;
  s.pid_start_time = std::numeric_limits<uint64_t>::max();
  s.pid = std::numeric_limits<int32_t>::max();
  CheckSame(MustParse(SerializeState(s)), s);
}

TEST_CASE("SerializeState writes one compact line", "[state]") {
  std::string json = SerializeState(FullState());
  CHECK(json.find('\n') == std::string::npos);
  CHECK(json.rfind(R"({"ociVersion":"1.2.0","id":"web-1","pid":4242,"pidStartTime":123456789,)",
                   0) == 0);
}

TEST_CASE("ParseState reads a hand-written state.json", "[state]") {
  ContainerState s = MustParse(StateJson());
  CHECK(s.oci_version == "1.0.2");
  CHECK(s.id == "c");
  CHECK(s.pid == 10);
  CHECK(s.pid_start_time == 20);
  CHECK(s.bundle == "/b");
  CHECK(s.rootfs == "/b/rootfs");
  CHECK(s.created == "2024-01-01T00:00:00Z");
  CHECK(s.owner.empty());  // derived from the state directory, not stored
  CHECK(s.annotations == std::map<std::string, std::string>{{"a", "b"}});
  CHECK(s.created_cgroup_dirs == std::vector<std::string>{"/sys/fs/cgroup/c"});
  CHECK(s.cgroup_mode == "v1");
  CHECK(s.cgroup_paths == std::map<std::string, std::string>{{"pids", "/sys/fs/cgroup/pids/c"}});
}

TEST_CASE("ParseState requires every field but annotations", "[state]") {
  std::string key = GENERATE("ociVersion", "id", "pid", "pidStartTime", "bundle", "rootfs",
                             "created", "createdCgroupDirs");
  std::string error = ErrorOf(StateJson(key));
  CHECK_THAT(error, Catch::StartsWith(key + ": must be"));
}

TEST_CASE("ParseState tolerates missing annotations", "[state]") {
  CHECK(MustParse(StateJson("annotations")).annotations.empty());
}

TEST_CASE("ParseState rejects wrong types", "[state]") {
  CHECK(ErrorOf(StateJsonWith("id", "5")) == "id: must be a string");
  CHECK(ErrorOf(StateJsonWith("pid", R"("10")")) == "pid: must be a 32-bit integer");
  CHECK(ErrorOf(StateJsonWith("pid", "2147483648")) == "pid: must be a 32-bit integer");
  CHECK(ErrorOf(StateJsonWith("pid", "1.5")) == "pid: must be a 32-bit integer");
  CHECK_THAT(ErrorOf(StateJsonWith("pidStartTime", "-1")),
             Catch::StartsWith("pidStartTime: must be a non-negative integer"));
  CHECK(ErrorOf(StateJsonWith("createdCgroupDirs", "[1]")) ==
        "createdCgroupDirs[0]: must be a string");
  CHECK(ErrorOf(StateJsonWith("annotations", R"({"a": 1})")) == "annotations.a: must be a string");
}

TEST_CASE("ParseState rejects documents that are not state objects", "[state]") {
  CHECK_THAT(ErrorOf("{\"id\": "), Catch::StartsWith("state.json: invalid JSON: "));
  CHECK_THAT(ErrorOf(""), Catch::StartsWith("state.json: invalid JSON"));
  CHECK(ErrorOf("[]") == "ociVersion: must be a string");
  CHECK(ErrorOf("{}") == "ociVersion: must be a string");
}

TEST_CASE("RenderOciState prints runc's state document", "[state]") {
  ContainerState s = FullState();
  s.annotations = {{"b", "2"}, {"a", "1"}};
  CHECK(RenderOciState(s, Status::kRunning, "  ") ==
        "{\n"
        "  \"ociVersion\": \"1.2.0\",\n"
        "  \"id\": \"web-1\",\n"
        "  \"pid\": 4242,\n"
        "  \"status\": \"running\",\n"
        "  \"bundle\": \"/run/bundles/web 1\",\n"
        "  \"rootfs\": \"/run/bundles/web 1/rootfs\",\n"
        "  \"created\": \"2024-05-06T07:08:09.123456789Z\",\n"
        "  \"annotations\": {\n"
        "    \"a\": \"1\",\n"
        "    \"b\": \"2\"\n"
        "  },\n"
        "  \"owner\": \"root\"\n"
        "}");
}

TEST_CASE("RenderOciState omits empty annotations", "[state]") {
  ContainerState s = FullState();
  s.annotations.clear();
  CHECK(RenderOciState(s, Status::kCreated, "\t") ==
        "{\n"
        "\t\"ociVersion\": \"1.2.0\",\n"
        "\t\"id\": \"web-1\",\n"
        "\t\"pid\": 4242,\n"
        "\t\"status\": \"created\",\n"
        "\t\"bundle\": \"/run/bundles/web 1\",\n"
        "\t\"rootfs\": \"/run/bundles/web 1/rootfs\",\n"
        "\t\"created\": \"2024-05-06T07:08:09.123456789Z\",\n"
        "\t\"owner\": \"root\"\n"
        "}");
}

TEST_CASE("RenderOciState reports pid 0 for a stopped container", "[state]") {
  ContainerState s = FullState();
  s.annotations.clear();
  CHECK(RenderOciState(s, Status::kStopped, "") ==
        R"({"ociVersion":"1.2.0","id":"web-1","pid":0,"status":"stopped",)"
        R"("bundle":"/run/bundles/web 1","rootfs":"/run/bundles/web 1/rootfs",)"
        R"("created":"2024-05-06T07:08:09.123456789Z","owner":"root"})");
}

TEST_CASE("RenderOciState keeps the pid for every live status", "[state]") {
  Status status = GENERATE(Status::kCreating, Status::kCreated, Status::kRunning, Status::kPaused);
  std::string json = RenderOciState(FullState(), status, "");
  CHECK_THAT(json, Catch::Contains(R"("pid":4242,)"));
  CHECK_THAT(json, Catch::Contains(absl::StrCat(R"("status":")", StatusName(status), "\"")));
}

TEST_CASE("RenderOciState has no trailing newline and leaves out berth's own fields", "[state]") {
  std::string json = RenderOciState(FullState(), Status::kRunning, "    ");
  REQUIRE_FALSE(json.empty());
  CHECK(json.back() == '}');
  CHECK_THAT(json, Catch::StartsWith("{\n    \"ociVersion\": "));
  CHECK_THAT(json, !Catch::Contains("pidStartTime"));
  CHECK_THAT(json, !Catch::Contains("ownPidNamespace"));
  CHECK_THAT(json, !Catch::Contains("cgroupDirs"));
  CHECK_THAT(json, !Catch::Contains("createdCgroupDirs"));
}

TEST_CASE("RenderOciState escapes annotation keys and values", "[state]") {
  ContainerState s;
  s.annotations = {{"k\"", "v\n"}};
  CHECK_THAT(RenderOciState(s, Status::kRunning, ""),
             Catch::Contains(R"("annotations":{"k\"":"v\n"})"));
}

TEST_CASE("ValidateId accepts runc's ID alphabet", "[state]") {
  std::string id = GENERATE("a", "A", "0", "abc-DEF_123", "a.b", "a+b", "-", "_", "+", "...", ".a",
                            "a..", "x.y-z_w+v", "0123456789abcdef0123456789abcdef");
  INFO(id);
  CHECK(ValidateId(id).ok());
}

TEST_CASE("ValidateId rejects empty, dot names and other characters", "[state]") {
  std::string id = GENERATE("", ".", "..", "a/b", "/", "../x", "a b", " a", "a\tb", "a\nb",
                            "\xc3\xa9", "caf\xc3\xa9", "a:b", "a*b", "a@b", "a\\b", "a=b");
  INFO(id);
  absl::Status st = ValidateId(id);
  REQUIRE_FALSE(st.ok());
  CHECK(absl::IsInvalidArgument(st));
  CHECK(std::string(st.message()) ==
        absl::StrCat("invalid container ID \"", id, "\": must match [A-Za-z0-9_+.-]+"));
}

TEST_CASE("ValidateId rejects an embedded NUL", "[state]") {
  CHECK_FALSE(ValidateId(absl::string_view("a\0b", 3)).ok());
}

}  // namespace
}  // namespace berth::state
