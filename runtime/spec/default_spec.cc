#include "runtime/spec/default_spec.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "lib/json_writer.h"

namespace berth::spec {
namespace {

struct DefaultMount {
  absl::string_view destination, type, source;
  std::vector<absl::string_view> options;
};

const std::vector<absl::string_view> kCapabilities = {"CAP_AUDIT_WRITE", "CAP_KILL",
                                                      "CAP_NET_BIND_SERVICE"};

void WriteStrings(JsonWriter& w, const std::vector<absl::string_view>& values) {
  w.BeginArray();
  for (absl::string_view v : values) w.String(v);
  w.EndArray();
}

void WriteProcess(JsonWriter& w) {
  w.Key("process").BeginObject();
  w.Key("terminal").Bool(true);
  w.Key("user").BeginObject().Key("uid").Uint(0).Key("gid").Uint(0).EndObject();
  w.Key("args");
  WriteStrings(w, {"sh"});
  w.Key("env");
  WriteStrings(w,
               {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
  w.Key("cwd").String("/");
  w.Key("capabilities").BeginObject();
  for (absl::string_view set : {"bounding", "effective", "permitted", "ambient"}) {
    w.Key(set);
    WriteStrings(w, kCapabilities);
  }
  w.EndObject();
  w.Key("rlimits").BeginArray();
  w.BeginObject().Key("type").String("RLIMIT_NOFILE");
  w.Key("hard").Uint(1024).Key("soft").Uint(1024).EndObject();
  w.EndArray();
  w.Key("noNewPrivileges").Bool(true);
  w.EndObject();
}

std::vector<DefaultMount> Mounts(bool rootless) {
  std::vector<DefaultMount> mounts = {
      {"/proc", "proc", "proc", {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
  if (!rootless) return mounts;
  for (DefaultMount& m : mounts) {
    // A user namespace cannot mount a fresh sysfs without its own network
    // namespace: bind the host's instead.
    if (m.destination == "/sys") {
      m = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
      continue;
    }
    // Only the caller's ids are mapped; uid=/gid= options would name others.
    std::erase_if(m.options, [](absl::string_view o) {
      return absl::StartsWith(o, "uid=") || absl::StartsWith(o, "gid=");
    });
  }
  return mounts;
}

void WriteMounts(JsonWriter& w, bool rootless) {
  w.Key("mounts").BeginArray();
  for (const DefaultMount& m : Mounts(rootless)) {
    w.BeginObject();
    w.Key("destination").String(m.destination);
    w.Key("type").String(m.type);
    w.Key("source").String(m.source);
    if (!m.options.empty()) {
      w.Key("options");
      WriteStrings(w, m.options);
    }
    w.EndObject();
  }
  w.EndArray();
}

void WriteIdMapping(JsonWriter& w, absl::string_view key, unsigned host_id) {
  w.Key(key).BeginArray().BeginObject();
  w.Key("containerID").Uint(0).Key("hostID").Uint(host_id).Key("size").Uint(1);
  w.EndObject().EndArray();
}

void WriteLinux(JsonWriter& w, bool rootless, unsigned host_uid, unsigned host_gid) {
  w.Key("linux").BeginObject();
  if (rootless) {
    // The caller's ids become root; no cgroup resources, which an
    // unprivileged caller usually cannot set.
    WriteIdMapping(w, "uidMappings", host_uid);
    WriteIdMapping(w, "gidMappings", host_gid);
  } else {
    w.Key("resources").BeginObject().Key("devices").BeginArray();
    w.BeginObject().Key("allow").Bool(false).Key("access").String("rwm").EndObject();
    w.EndArray().EndObject();
  }
  // Rootless: no new network namespace (it would have no connectivity), and a
  // user namespace to own the others.
  std::vector<absl::string_view> namespaces = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
  if (rootless) {
    std::erase(namespaces, "network");
    namespaces.push_back("user");
  }
  w.Key("namespaces").BeginArray();
  for (absl::string_view ns : namespaces) w.BeginObject().Key("type").String(ns).EndObject();
  w.EndArray();
  w.Key("maskedPaths");
  WriteStrings(w, {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                   "/proc/scsi"});
  w.Key("readonlyPaths");
  WriteStrings(w, {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
  w.EndObject();
}

}  // namespace

std::string DefaultSpecJson(bool rootless, unsigned host_uid, unsigned host_gid) {
  JsonWriter w("\t");
  w.BeginObject();
  w.Key("ociVersion").String("1.2.0");
  WriteProcess(w);
  w.Key("root").BeginObject().Key("path").String("rootfs").Key("readonly").Bool(true).EndObject();
  w.Key("hostname").String("runc");
  WriteMounts(w, rootless);
  WriteLinux(w, rootless, host_uid, host_gid);
  w.EndObject();
  return w.Take();
}

}  // namespace berth::spec
