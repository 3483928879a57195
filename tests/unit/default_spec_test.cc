#include "runtime/spec/default_spec.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "lib/json_tree.h"
#include "runtime/spec/parser.h"

namespace berth::spec {
namespace {

// `runc spec` (runc 1.1) output, with ociVersion 1.2.0 and the cgroup
// namespace runc 1.2 adds on cgroup v2 hosts.
constexpr char kRuncSpec[] = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";

// `runc spec --rootless` differs in mounts and linux; `@UID@`/`@GID@` are
// the caller's ids.
constexpr char kRuncRootlessSpec[] = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "none", "source": "/sys",
     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": @UID@, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": @GID@, "size": 1}],
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                   {"type": "cgroup"}, {"type": "user"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                    "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})";

// The first difference between two JSON values ("" when equal). Object
// member order does not matter; array order does.
std::string Diff(const json::Value& a, const json::Value& b) {
  const std::string where = a.path().empty() ? "(document)" : a.path();
  if (a.is_object()) {
    if (!b.is_object()) return absl::StrCat(where, ": expected an object");
    auto am = a.Members();
    auto bm = b.Members();
    if (am.size() != bm.size()) {
      return absl::StrCat(where, ": ", am.size(), " members vs ", bm.size());
    }
    for (const auto& [key, value] : am) {
      json::Value other = b.Get(key);
      if (other.missing()) return absl::StrCat(value.path(), ": missing");
      if (std::string d = Diff(value, other); !d.empty()) return d;
    }
    return "";
  }
  if (a.is_array()) {
    if (!b.is_array()) return absl::StrCat(where, ": expected an array");
    auto ae = a.Elements();
    auto be = b.Elements();
    if (ae.size() != be.size()) {
      return absl::StrCat(where, ": ", ae.size(), " elements vs ", be.size());
    }
    for (size_t i = 0; i < ae.size(); ++i) {
      if (std::string d = Diff(ae[i], be[i]); !d.empty()) return d;
    }
    return "";
  }
  if (a.is_string()) {
    return b.is_string() && *a.AsString() == *b.AsString()
               ? ""
               : absl::StrCat(where, ": string differs");
  }
  if (a.is_bool()) {
    return b.is_bool() && *a.AsBool() == *b.AsBool() ? "" : absl::StrCat(where, ": bool differs");
  }
  if (a.is_number()) {
    return b.is_number() && *a.AsInt64() == *b.AsInt64() ? ""
                                                         : absl::StrCat(where, ": number differs");
  }
  return a.is_null() && b.is_null() ? "" : absl::StrCat(where, ": null differs");
}

std::string DiffJson(const std::string& actual, const std::string& expected) {
  auto a = json::Document::Parse(actual, "actual");
  auto b = json::Document::Parse(expected, "expected");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  return Diff((*a)->root(), (*b)->root());
}

TEST_CASE("The default spec matches runc spec", "[default_spec]") {
  CHECK(DiffJson(DefaultSpecJson(false, 0, 0), kRuncSpec) == "");
  // Also in the other direction, so nothing extra hides in ours.
  CHECK(DiffJson(kRuncSpec, DefaultSpecJson(false, 0, 0)) == "");
}

TEST_CASE("The rootless default spec matches runc spec --rootless", "[default_spec]") {
  std::string expected =
      absl::StrReplaceAll(kRuncRootlessSpec, {{"@UID@", "1000"}, {"@GID@", "1001"}});
  CHECK(DiffJson(DefaultSpecJson(true, 1000, 1001), expected) == "");
  CHECK(DiffJson(expected, DefaultSpecJson(true, 1000, 1001)) == "");
}

TEST_CASE("The default spec is tab-indented like runc's", "[default_spec]") {
  std::string json = DefaultSpecJson(false, 0, 0);
  CHECK_THAT(json, Catch::StartsWith("{\n\t\"ociVersion\": \"1.2.0\",\n\t\"process\": {\n\t\t"));
  CHECK_THAT(json, Catch::EndsWith("\n}"));
}

TEST_CASE("The default spec round-trips through ParseSpec", "[default_spec]") {
  absl::StatusOr<Spec> parsed = ParseSpec(DefaultSpecJson(false, 0, 0));
  REQUIRE(parsed.ok());
  const Spec& spec = *parsed;
  CHECK(spec.oci_version == "1.2.0");
  CHECK(spec.root.path == "rootfs");
  CHECK(spec.root.readonly);
  CHECK(spec.hostname == "runc");
  REQUIRE(spec.process.has_value());
  CHECK(spec.process->terminal);
  CHECK(spec.process->args == std::vector<std::string>{"sh"});
  CHECK(spec.process->cwd == "/");
  CHECK(spec.process->env.size() == 2);
  CHECK(spec.process->no_new_privileges);
  REQUIRE(spec.process->capabilities.has_value());
  CHECK(spec.process->capabilities->bounding ==
        std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  CHECK(spec.process->capabilities->inheritable.empty());
  REQUIRE(spec.process->rlimits.size() == 1);
  CHECK(spec.process->rlimits[0].type == "RLIMIT_NOFILE");
  CHECK(spec.process->rlimits[0].hard == 1024u);
  REQUIRE(spec.mounts.size() == 7);
  CHECK(spec.mounts[0].destination == "/proc");
  CHECK(spec.mounts[0].options.empty());
  CHECK(spec.mounts[2].options.back() == "gid=5");
  CHECK(spec.mounts[5].type == "sysfs");
  CHECK(spec.mounts[6].destination == "/sys/fs/cgroup");
  CHECK(spec.linux_cfg.namespaces.size() == 6);
  CHECK(spec.HasNamespace(NamespaceType::kNetwork));
  CHECK(spec.HasNamespace(NamespaceType::kCgroup));
  CHECK_FALSE(spec.HasNamespace(NamespaceType::kUser));
  CHECK(spec.linux_cfg.uid_mappings.empty());
  CHECK(spec.linux_cfg.masked_paths.size() == 10);
  CHECK(spec.linux_cfg.readonly_paths.size() == 5);
}

TEST_CASE("The rootless default spec round-trips through ParseSpec", "[default_spec]") {
  absl::StatusOr<Spec> parsed = ParseSpec(DefaultSpecJson(true, 1234, 4321));
  REQUIRE(parsed.ok());
  const Spec& spec = *parsed;
  CHECK(spec.HasNamespace(NamespaceType::kUser));
  CHECK_FALSE(spec.HasNamespace(NamespaceType::kNetwork));
  CHECK(spec.linux_cfg.namespaces.back().type == NamespaceType::kUser);
  REQUIRE(spec.linux_cfg.uid_mappings.size() == 1);
  CHECK(spec.linux_cfg.uid_mappings[0].container_id == 0u);
  CHECK(spec.linux_cfg.uid_mappings[0].host_id == 1234u);
  CHECK(spec.linux_cfg.uid_mappings[0].size == 1u);
  REQUIRE(spec.linux_cfg.gid_mappings.size() == 1);
  CHECK(spec.linux_cfg.gid_mappings[0].host_id == 4321u);
  REQUIRE(spec.mounts.size() == 7);
  CHECK(spec.mounts[2].options ==
        std::vector<std::string>{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
  CHECK(spec.mounts[5].source == "/sys");
  CHECK(spec.mounts[5].options.front() == "rbind");
}

}  // namespace
}  // namespace berth::spec
