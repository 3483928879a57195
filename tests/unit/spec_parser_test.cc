#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/spec/parser.h"

namespace berth::spec {
namespace {

constexpr char kMinimal[] = R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"}})";

// A valid spec with `fields` (a JSON member list) added at the top level.
std::string With(absl::string_view fields) {
  return absl::StrCat(R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}, )", fields, "}");
}

// A valid spec whose process has `fields` added to the minimal args and cwd.
std::string WithProcess(absl::string_view fields) {
  return With(absl::StrCat(R"("process": {"args": ["sh"], "cwd": "/")", fields.empty() ? "" : ", ",
                           fields, "}"));
}

std::string WithLinux(absl::string_view fields) {
  return With(absl::StrCat(R"("linux": {)", fields, "}"));
}

Spec MustParse(const std::string& json) {
  absl::StatusOr<Spec> spec = ParseSpec(json);
  INFO(json);
  if (!spec.ok()) FAIL(spec.status().message());
  return *std::move(spec);
}

std::string ErrorOf(const std::string& json) {
  absl::StatusOr<Spec> spec = ParseSpec(json);
  INFO(json);
  REQUIRE_FALSE(spec.ok());
  CHECK(absl::IsInvalidArgument(spec.status()));
  return std::string(spec.status().message());
}

// ---- top level ----

TEST_CASE("A minimal spec parses", "[parser]") {
  Spec spec = MustParse(kMinimal);
  CHECK(spec.oci_version == "1.0.2");
  CHECK(spec.root.path == "rootfs");
  CHECK_FALSE(spec.root.readonly);
  CHECK_FALSE(spec.process.has_value());
  CHECK(spec.mounts.empty());
  CHECK(spec.linux_cfg.namespaces.empty());
}

TEST_CASE("Syntax errors and non-object documents are rejected", "[parser]") {
  CHECK_THAT(ErrorOf("{\"ociVersion\": "), Catch::Contains("invalid JSON"));
  CHECK_THAT(ErrorOf(""), Catch::Contains("invalid JSON"));
  CHECK(ErrorOf("[]") == "(document): must be a JSON object");
  CHECK(ErrorOf("\"1.0.0\"") == "(document): must be a JSON object");
}

TEST_CASE("ociVersion is required and must be supported", "[parser]") {
  CHECK(ErrorOf(R"({"root": {"path": "r"}})") == "ociVersion: is required");
  CHECK(ErrorOf(R"({"ociVersion": null, "root": {"path": "r"}})") == "ociVersion: is required");
  CHECK(ErrorOf(R"({"ociVersion": 1, "root": {"path": "r"}})") == "ociVersion: must be a string");
  CHECK(ErrorOf(R"({"ociVersion": "2.0.0", "root": {"path": "r"}})") ==
        "ociVersion: unsupported version \"2.0.0\" (berth supports 1.0.0 to 1.2.x)");
  CHECK(ErrorOf(R"({"ociVersion": "1.3.0", "root": {"path": "r"}})") ==
        "ociVersion: unsupported version \"1.3.0\" (berth supports 1.0.0 to 1.2.x)");
}

TEST_CASE("IsSupportedOciVersion", "[parser]") {
  for (const char* v : {"1.0.0", "1.0.1", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.0", "1.2.1",
                        "1.2.10", "1.0.0+build"}) {
    INFO(v);
    CHECK(IsSupportedOciVersion(v));
  }
  for (const char* v : {"", "1", "1.0", "0.9.0", "1.3.0", "2.0.0", "1.0.0.0", "1.x.0", "v1.0.0",
                        "1. 0.0", "1.+2.0", "-1.0.0", "1.0."}) {
    INFO(v);
    CHECK_FALSE(IsSupportedOciVersion(v));
  }
}

TEST_CASE("root is required with a non-empty path", "[parser]") {
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0"})") == "root: is required");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": null})") == "root: is required");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": "rootfs"})") == "root: must be an object");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": {}})") ==
        "root.path: must be a non-empty string");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": {"path": ""}})") ==
        "root.path: must be a non-empty string");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": {"path": 3}})") ==
        "root.path: must be a non-empty string");
  CHECK(ErrorOf(R"({"ociVersion": "1.0.0", "root": {"path": "r", "readonly": "yes"}})") ==
        "root.readonly: must be a boolean");
  Spec spec = MustParse(R"({"ociVersion": "1.0.0", "root": {"path": "/abs", "readonly": true}})");
  CHECK(spec.root.path == "/abs");
  CHECK(spec.root.readonly);
}

TEST_CASE("Unknown fields are ignored everywhere", "[parser]") {
  Spec spec = MustParse(With(R"(
    "future": {"x": [1, 2]}, "vm": {},
    "process": {"args": ["sh"], "cwd": "/", "newThing": true, "user": {"uid": 1, "extra": 2}},
    "mounts": [{"destination": "/x", "weird": null}],
    "linux": {"resources": {"devices": []}, "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"},
              "namespaces": [{"type": "pid", "flags": 3}], "intelRdt": {}})"));
  REQUIRE(spec.process.has_value());
  CHECK(spec.process->user.uid == 1u);
  CHECK(spec.mounts.size() == 1);
  CHECK(spec.linux_cfg.namespaces.size() == 1);
}

TEST_CASE("null counts as absent for optional fields", "[parser]") {
  Spec spec = MustParse(With(R"(
    "process": null, "hostname": null, "mounts": null, "hooks": null, "annotations": null,
    "linux": null)"));
  CHECK_FALSE(spec.process.has_value());
  CHECK(spec.hostname.empty());

  spec = MustParse(WithProcess(R"(
    "terminal": null, "consoleSize": null, "user": null, "env": null, "capabilities": null,
    "rlimits": null, "noNewPrivileges": null, "oomScoreAdj": null, "apparmorProfile": null)"));
  REQUIRE(spec.process.has_value());
  CHECK_FALSE(spec.process->console_size.has_value());
  CHECK_FALSE(spec.process->capabilities.has_value());
  CHECK_FALSE(spec.process->oom_score_adj.has_value());

  spec = MustParse(WithLinux(R"(
    "namespaces": [{"type": "pid", "path": null}], "uidMappings": null, "devices": null,
    "cgroupsPath": null, "rootfsPropagation": null, "maskedPaths": null, "sysctl": null)"));
  REQUIRE(spec.linux_cfg.namespaces.size() == 1);
  CHECK(spec.linux_cfg.namespaces[0].path.empty());
}

TEST_CASE("hostname, domainname and annotations", "[parser]") {
  Spec spec = MustParse(With(R"(
    "hostname": "box", "domainname": "example.org",
    "annotations": {"org.example.a": "1", "b": ""})"));
  CHECK(spec.hostname == "box");
  CHECK(spec.domainname == "example.org");
  CHECK(spec.annotations == std::map<std::string, std::string>{{"org.example.a", "1"}, {"b", ""}});
  CHECK(ErrorOf(With(R"("hostname": 5)")) == "hostname: must be a string");
  CHECK(ErrorOf(With(R"("annotations": {"a": 1})")) == "annotations.a: must be a string");
  CHECK(ErrorOf(With(R"("annotations": ["a"])")) == "annotations: must be an object");
}

// ---- process ----

TEST_CASE("process.args must be a non-empty array of strings", "[parser]") {
  constexpr char kMessage[] = "process.args: must be a non-empty array of strings";
  CHECK(ErrorOf(With(R"("process": {"cwd": "/"})")) == kMessage);
  CHECK(ErrorOf(With(R"("process": {"args": [], "cwd": "/"})")) == kMessage);
  CHECK(ErrorOf(With(R"("process": {"args": "sh", "cwd": "/"})")) == kMessage);
  CHECK(ErrorOf(With(R"("process": {"args": ["sh", 1], "cwd": "/"})")) == kMessage);
  CHECK(ErrorOf(With(R"("process": {"args": null, "cwd": "/"})")) == kMessage);
  CHECK(ErrorOf(With(R"("process": "sh")")) == "process: must be an object");
}

TEST_CASE("process.cwd is required and absolute", "[parser]") {
  CHECK(ErrorOf(With(R"("process": {"args": ["sh"]})")) == "process.cwd: is required");
  CHECK(ErrorOf(With(R"("process": {"args": ["sh"], "cwd": "tmp"})")) ==
        "process.cwd: must be an absolute path");
  CHECK(ErrorOf(With(R"("process": {"args": ["sh"], "cwd": 1})")) ==
        "process.cwd: must be a string");
}

TEST_CASE("process fields parse", "[parser]") {
  Spec spec = MustParse(WithProcess(R"(
    "terminal": true, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6], "username": "u"},
    "env": ["A=1", "B="],
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_CHOWN"],
                     "inheritable": [], "permitted": ["CAP_KILL", "CAP_CHOWN"],
                     "ambient": ["CAP_NET_RAW"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024},
                {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
    "noNewPrivileges": true, "oomScoreAdj": -500, "apparmorProfile": "p",
    "selinuxLabel": "system_u:system_r:container_t:s0")"));
  REQUIRE(spec.process.has_value());
  const Process& p = *spec.process;
  CHECK(p.terminal);
  REQUIRE(p.console_size.has_value());
  CHECK(p.console_size->height == 24u);
  CHECK(p.console_size->width == 80u);
  CHECK(p.user.uid == 1000u);
  CHECK(p.user.gid == 100u);
  CHECK(p.user.umask == std::optional<uint32_t>(18));
  CHECK(p.user.additional_gids == std::vector<uint32_t>{5, 6});
  CHECK(p.user.username == "u");
  CHECK(p.args == std::vector<std::string>{"sh"});
  CHECK(p.env == std::vector<std::string>{"A=1", "B="});
  CHECK(p.cwd == "/");
  REQUIRE(p.capabilities.has_value());
  CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_KILL"});
  CHECK(p.capabilities->effective == std::vector<std::string>{"CAP_CHOWN"});
  CHECK(p.capabilities->inheritable.empty());
  CHECK(p.capabilities->permitted.size() == 2);
  CHECK(p.capabilities->ambient == std::vector<std::string>{"CAP_NET_RAW"});
  REQUIRE(p.rlimits.size() == 2);
  CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
  CHECK(p.rlimits[0].hard == std::numeric_limits<uint64_t>::max());
  CHECK(p.rlimits[0].soft == 1024u);
  CHECK(p.rlimits[1].type == "RLIMIT_CORE");
  CHECK(p.no_new_privileges);
  CHECK(p.oom_score_adj == std::optional<int32_t>(-500));
  CHECK(p.apparmor_profile == "p");
  CHECK(p.selinux_label == "system_u:system_r:container_t:s0");
}

TEST_CASE("process field errors name the path", "[parser]") {
  CHECK(ErrorOf(WithProcess(R"("env": ["A=1", "NOEQUALS"])")) ==
        "process.env[1]: must be of the form KEY=value");
  CHECK(ErrorOf(WithProcess(R"("env": "A=1")")) == "process.env: must be an array of strings");
  CHECK(ErrorOf(WithProcess(R"("terminal": 1)")) == "process.terminal: must be a boolean");
  CHECK(ErrorOf(WithProcess(R"("user": {"uid": -1})")) ==
        "process.user.uid: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(WithProcess(R"("user": {"gid": 4294967296})")) ==
        "process.user.gid: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(WithProcess(R"("user": {"additionalGids": [1, "x"]})")) ==
        "process.user.additionalGids[1]: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(WithProcess(R"("consoleSize": {"height": 1})")) ==
        "process.consoleSize.width: is required");
  CHECK(ErrorOf(WithProcess(R"("capabilities": {"bounding": [1]})")) ==
        "process.capabilities.bounding[0]: must be a string");
  CHECK(ErrorOf(WithProcess(R"("noNewPrivileges": "true")")) ==
        "process.noNewPrivileges: must be a boolean");
  CHECK(ErrorOf(WithProcess(R"("oomScoreAdj": 1.5)")) ==
        "process.oomScoreAdj: must be a 32-bit integer");
}

TEST_CASE("process.rlimits are validated", "[parser]") {
  CHECK(ErrorOf(WithProcess(R"("rlimits": [{"type": "NOFILE", "hard": 1, "soft": 1}])")) ==
        "process.rlimits[0].type: must be an RLIMIT_* name, got \"NOFILE\"");
  CHECK(ErrorOf(WithProcess(R"("rlimits": [{"hard": 1, "soft": 1}])")) ==
        "process.rlimits[0].type: is required");
  CHECK(ErrorOf(WithProcess(R"("rlimits": [{"type": "RLIMIT_AS", "soft": 1}])")) ==
        "process.rlimits[0].hard: is required");
  CHECK(ErrorOf(WithProcess(R"("rlimits": [{"type": "RLIMIT_AS", "hard": -1, "soft": 1}])")) ==
        "process.rlimits[0].hard: must be a non-negative integer");
  CHECK(ErrorOf(WithProcess(R"("rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1},
      {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2}])")) ==
        "process.rlimits[1]: duplicate rlimit \"RLIMIT_NOFILE\"");
  CHECK(ErrorOf(WithProcess(R"("rlimits": {"type": "RLIMIT_AS"})")) ==
        "process.rlimits: must be an array");
  CHECK(ErrorOf(WithProcess(R"("rlimits": ["RLIMIT_AS"])")) ==
        "process.rlimits[0]: must be an object");
}

// ---- mounts ----

TEST_CASE("mounts parse", "[parser]") {
  Spec spec = MustParse(With(R"("mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "./data", "options": ["rbind", "ro"],
     "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
     "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 65536}]},
    {"destination": "/tmp"}])"));
  REQUIRE(spec.mounts.size() == 3);
  CHECK(spec.mounts[0].destination == "/proc");
  CHECK(spec.mounts[0].type == "proc");
  CHECK(spec.mounts[0].options.empty());
  const Mount& data = spec.mounts[1];
  CHECK(data.source == "./data");
  CHECK(data.options == std::vector<std::string>{"rbind", "ro"});
  REQUIRE(data.uid_mappings.size() == 1);
  CHECK(data.uid_mappings[0].host_id == 1000u);
  REQUIRE(data.gid_mappings.size() == 1);
  CHECK(data.gid_mappings[0].size == 65536u);
  CHECK(spec.mounts[2].type.empty());
  CHECK(spec.mounts[2].source.empty());
}

TEST_CASE("mount errors name the entry", "[parser]") {
  CHECK(ErrorOf(With(R"("mounts": [{"destination": "/a"}, {"destination": "/b"},
                                   {"destination": "c"}])")) ==
        "mounts[2].destination: must be an absolute path");
  CHECK(ErrorOf(With(R"("mounts": [{"type": "tmpfs"}])")) == "mounts[0].destination: is required");
  CHECK(ErrorOf(With(R"("mounts": [{"destination": "/a", "options": "ro"}])")) ==
        "mounts[0].options: must be an array of strings");
  CHECK(ErrorOf(With(R"("mounts": [{"destination": "/a", "type": 1}])")) ==
        "mounts[0].type: must be a string");
  CHECK(ErrorOf(With(R"("mounts": [{"destination": "/a",
                                    "uidMappings": [{"containerID": 0, "hostID": 1}]}])")) ==
        "mounts[0].uidMappings[0].size: is required");
  CHECK(ErrorOf(With(R"("mounts": {})")) == "mounts: must be an array");
}

// ---- hooks ----

TEST_CASE("hooks parse", "[parser]") {
  Spec spec = MustParse(With(R"("hooks": {
    "prestart": [{"path": "/bin/a", "args": ["a", "x"], "env": ["K=v"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/b"}, {"path": "/bin/c"}],
    "createContainer": [{"path": "/bin/d"}],
    "startContainer": [{"path": "/bin/e"}],
    "poststart": [{"path": "/bin/f"}],
    "poststop": [{"path": "/bin/g", "timeout": null}]})"));
  const Hooks& h = spec.hooks;
  REQUIRE(h.prestart.size() == 1);
  CHECK(h.prestart[0].path == "/bin/a");
  CHECK(h.prestart[0].args == std::vector<std::string>{"a", "x"});
  CHECK(h.prestart[0].env == std::vector<std::string>{"K=v"});
  CHECK(h.prestart[0].timeout == std::optional<int32_t>(5));
  CHECK(h.create_runtime.size() == 2);
  CHECK(h.create_container.size() == 1);
  CHECK(h.start_container.size() == 1);
  CHECK(h.poststart.size() == 1);
  REQUIRE(h.poststop.size() == 1);
  CHECK_FALSE(h.poststop[0].timeout.has_value());
}

TEST_CASE("hook errors", "[parser]") {
  CHECK(ErrorOf(With(R"("hooks": {"prestart": [{"path": "rel"}]})")) ==
        "hooks.prestart[0].path: must be an absolute path");
  CHECK(ErrorOf(With(R"("hooks": {"poststop": [{"args": []}]})")) ==
        "hooks.poststop[0].path: is required");
  CHECK(ErrorOf(With(R"("hooks": {"createRuntime": [{"path": "/x", "timeout": 0}]})")) ==
        "hooks.createRuntime[0].timeout: must be a positive integer");
  CHECK(ErrorOf(With(R"("hooks": {"startContainer": [{"path": "/x", "timeout": -3}]})")) ==
        "hooks.startContainer[0].timeout: must be a positive integer");
  CHECK(ErrorOf(With(R"("hooks": {"poststart": [{"path": "/x", "args": "a"}]})")) ==
        "hooks.poststart[0].args: must be an array of strings");
  CHECK(ErrorOf(With(R"("hooks": [])")) == "hooks: must be an object");
}

// ---- linux ----

TEST_CASE("linux.namespaces parse", "[parser]") {
  Spec spec = MustParse(WithLinux(R"("namespaces": [
    {"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}, {"type": "mount"},
    {"type": "ipc"}, {"type": "uts", "path": ""}, {"type": "user"}, {"type": "cgroup"},
    {"type": "time"}])"));
  const auto& ns = spec.linux_cfg.namespaces;
  REQUIRE(ns.size() == 8);
  CHECK(ns[0].type == NamespaceType::kPid);
  CHECK(ns[1].type == NamespaceType::kNetwork);
  CHECK(ns[1].path == "/var/run/netns/x");
  CHECK(ns[4].type == NamespaceType::kUts);
  CHECK(ns[4].path.empty());
  CHECK(ns[7].type == NamespaceType::kTime);
  CHECK(spec.HasNamespace(NamespaceType::kUser));
  REQUIRE(spec.FindNamespace(NamespaceType::kNetwork) != nullptr);
  CHECK(spec.FindNamespace(NamespaceType::kNetwork)->path == "/var/run/netns/x");
}

TEST_CASE("linux.namespaces errors", "[parser]") {
  CHECK(ErrorOf(WithLinux(R"("namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "ipc"},
                                            {"type": "pid"}])")) ==
        "linux.namespaces[3]: duplicate namespace \"pid\"");
  CHECK(ErrorOf(WithLinux(R"("namespaces": [{"type": "net"}])")) ==
        "linux.namespaces[0].type: unknown namespace type \"net\"");
  CHECK(ErrorOf(WithLinux(R"("namespaces": [{"path": "/proc/1/ns/pid"}])")) ==
        "linux.namespaces[0].type: is required");
  CHECK(ErrorOf(WithLinux(R"("namespaces": [{"type": "pid", "path": "proc/1/ns/pid"}])")) ==
        "linux.namespaces[0].path: must be an absolute path");
  CHECK(ErrorOf(WithLinux(R"("namespaces": ["pid"])")) == "linux.namespaces[0]: must be an object");
  CHECK(ErrorOf(With(R"("linux": [])")) == "linux: must be an object");
}

TEST_CASE("ParseNamespaceType and NamespaceTypeName agree", "[parser]") {
  for (const char* name : {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}) {
    std::optional<NamespaceType> t = ParseNamespaceType(name);
    REQUIRE(t.has_value());
    CHECK(std::string(NamespaceTypeName(*t)) == name);
  }
  CHECK_FALSE(ParseNamespaceType("net").has_value());
  CHECK_FALSE(ParseNamespaceType("").has_value());
  CHECK_FALSE(ParseNamespaceType("PID").has_value());
}

TEST_CASE("linux id mappings", "[parser]") {
  Spec spec = MustParse(WithLinux(R"(
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 1},
                    {"containerID": 1, "hostID": 4294967295, "size": 1}])"));
  REQUIRE(spec.linux_cfg.uid_mappings.size() == 1);
  CHECK(spec.linux_cfg.uid_mappings[0].container_id == 0u);
  CHECK(spec.linux_cfg.uid_mappings[0].host_id == 100000u);
  CHECK(spec.linux_cfg.uid_mappings[0].size == 65536u);
  REQUIRE(spec.linux_cfg.gid_mappings.size() == 2);
  CHECK(spec.linux_cfg.gid_mappings[1].host_id == 4294967295u);
  CHECK(ErrorOf(WithLinux(R"("uidMappings": [{"containerID": 0, "hostID": -1, "size": 1}])")) ==
        "linux.uidMappings[0].hostID: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(WithLinux(R"("gidMappings": [{"hostID": 0, "size": 1}])")) ==
        "linux.gidMappings[0].containerID: is required");
}

TEST_CASE("linux.devices parse", "[parser]") {
  Spec spec = MustParse(WithLinux(R"("devices": [
    {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
     "uid": 0, "gid": 0},
    {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
    {"path": "/dev/fifo", "type": "p"}])"));
  const auto& d = spec.linux_cfg.devices;
  REQUIRE(d.size() == 3);
  CHECK(d[0].path == "/dev/fuse");
  CHECK(d[0].type == 'c');
  CHECK(d[0].major == 10);
  CHECK(d[0].minor == 229);
  CHECK(d[0].file_mode == std::optional<uint32_t>(0666));
  CHECK(d[0].uid == std::optional<uint32_t>(0));
  CHECK(d[1].type == 'b');
  CHECK_FALSE(d[1].file_mode.has_value());
  CHECK(d[2].type == 'p');
  CHECK(d[2].major == 0);
}

TEST_CASE("linux.devices errors", "[parser]") {
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x", "type": "x", "major": 1,
                                          "minor": 1}])")) ==
        "linux.devices[0].type: must be one of c, b, u, p");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x", "type": "cb"}])")) ==
        "linux.devices[0].type: must be one of c, b, u, p");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x"}])")) ==
        "linux.devices[0].type: must be one of c, b, u, p");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "dev/x", "type": "c"}])")) ==
        "linux.devices[0].path: must be an absolute path");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"type": "c"}])")) ==
        "linux.devices[0].path: is required");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x", "type": "c", "minor": 1}])")) ==
        "linux.devices[0].major: is required for type \"c\"");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x", "type": "u", "major": 1}])")) ==
        "linux.devices[0].minor: is required for type \"u\"");
  CHECK(ErrorOf(WithLinux(R"("devices": [{"path": "/dev/x", "type": "b", "major": 1,
                                          "minor": 2, "fileMode": -1}])")) ==
        "linux.devices[0].fileMode: must be a non-negative 32-bit integer");
}

TEST_CASE("linux scalar and path fields", "[parser]") {
  Spec spec = MustParse(WithLinux(R"(
    "cgroupsPath": "/berth/c1", "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore", "/sys/firmware"], "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"})"));
  const Linux& lx = spec.linux_cfg;
  CHECK(lx.cgroups_path == "/berth/c1");
  CHECK(lx.rootfs_propagation == "rslave");
  CHECK(lx.masked_paths == std::vector<std::string>{"/proc/kcore", "/sys/firmware"});
  CHECK(lx.readonly_paths == std::vector<std::string>{"/proc/sys"});
  CHECK(lx.mount_label == "system_u:object_r:container_file_t:s0");
  CHECK(lx.sysctl.size() == 2);
  CHECK(lx.sysctl.at("net.ipv4.ip_forward") == "1");

  for (const char* p : {"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable",
                        "runbindable", ""}) {
    INFO(p);
    CHECK(MustParse(WithLinux(absl::StrCat(R"("rootfsPropagation": ")", p, "\"")))
              .linux_cfg.rootfs_propagation == p);
  }
}

TEST_CASE("linux field errors", "[parser]") {
  CHECK_THAT(ErrorOf(WithLinux(R"("rootfsPropagation": "recursive")")),
             Catch::StartsWith("linux.rootfsPropagation: must be one of private, rprivate"));
  CHECK(ErrorOf(WithLinux(R"("maskedPaths": ["/proc/kcore", "proc/keys"])")) ==
        "linux.maskedPaths[1]: must be an absolute path");
  CHECK(ErrorOf(WithLinux(R"("readonlyPaths": [1])")) ==
        "linux.readonlyPaths[0]: must be a string");
  CHECK(ErrorOf(WithLinux(R"("sysctl": {"a": 1})")) == "linux.sysctl.a: must be a string");
  CHECK(ErrorOf(WithLinux(R"("cgroupsPath": true)")) == "linux.cgroupsPath: must be a string");
}

}  // namespace
}  // namespace berth::spec
