// The OCI runtime-spec configuration (config.md, config-linux.md) as a typed
// model. Produced by ParseSpec (parser.h); no syscalls here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/spec/process_attrs.h"
#include "runtime/spec/resources.h"
#include "runtime/spec/seccomp.h"

namespace berth::spec {

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
  std::string username;  // Windows only; kept for completeness
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Capabilities {
  // Each set is optional: absent means "empty" for the process.
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE", ...
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;  // non-empty
  std::vector<std::string> env;   // "KEY=value"
  std::string cwd;                // absolute
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int32_t> oom_score_adj;
  std::string selinux_label;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> io_priority;
};

struct Root {
  std::string path;  // absolute or relative to the bundle
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  // Absent: the runtime's own environment (as runc and crun run hooks).
  std::optional<std::vector<std::string>> env;
  std::optional<int32_t> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one; else join this one
};

struct Device {
  std::string path;  // absolute, inside the container
  char type = 'c';   // 'c', 'b', 'u', 'p'
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;  // linux.resources
  std::string rootfs_propagation;      // "", "private", "rprivate", "slave", ...
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::map<std::string, std::string> sysctl;
  std::optional<Personality> personality;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::optional<MemoryPolicy> memory_policy;
  std::optional<Seccomp> seccomp;
  bool intel_rdt = false;    // linux.intelRdt present: not supported, refused by create
  bool net_devices = false;  // linux.netDevices (1.3) non-empty: refused by create too
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;  // required by create; optional in the schema
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux_cfg;  // "linux" in JSON (the bare name is a GNU macro)

  bool HasNamespace(NamespaceType t) const {
    for (const auto& ns : linux_cfg.namespaces)
      if (ns.type == t) return true;
    return false;
  }
  const Namespace* FindNamespace(NamespaceType t) const {
    for (const auto& ns : linux_cfg.namespaces)
      if (ns.type == t) return &ns;
    return nullptr;
  }
};

// "pid", "network", ... as the spec spells them.
const char* NamespaceTypeName(NamespaceType t);

}  // namespace berth::spec
