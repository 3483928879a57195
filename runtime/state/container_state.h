// What berth records about a container in ROOT/ID/state.json, and how it is
// turned into the OCI state that `berth state` prints.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::state {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status s);

struct ContainerState {
  std::string oci_version;
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/PID/stat field 22, to detect pid reuse
  std::string bundle;           // absolute
  std::string rootfs;           // absolute
  std::string created;          // RFC3339Nano, UTC
  std::string owner;            // not stored: derived from the state directory's owner
  std::map<std::string, std::string> annotations;
  // cgroup directories berth created, outermost first; delete removes these
  // (innermost first) and nothing else.
  std::vector<std::string> created_cgroup_dirs;
  // The cgroup back end ("v1", "v2", "hybrid") and each directory by its
  // hierarchy ("memory", "cpu,cpuacct", "unified"), for pause, update, ps,
  // events. Empty in states written before they were recorded.
  std::string cgroup_mode;
  std::map<std::string, std::string> cgroup_paths;
  // --systemd-cgroup: the container's scope, and whether the user's systemd
  // (rootless) rather than the system's runs it. Empty for cgroupfs.
  std::string systemd_unit;
  bool systemd_user = false;
};

std::string SerializeState(const ContainerState& s);
absl::StatusOr<ContainerState> ParseState(absl::string_view json);

// The OCI state document (runtime.md "State") plus runc's rootfs/created/
// owner; indented like runc's output, no trailing newline.
std::string RenderOciState(const ContainerState& s, Status status, absl::string_view indent);

}  // namespace berth::state
