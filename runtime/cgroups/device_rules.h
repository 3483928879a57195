// The device cgroup rules a container gets, in the order they apply, and
// their v1 rendering (devices.allow / devices.deny lines). The eBPF program
// for cgroup2 (bpf_devices.h) implements the same decision as DeviceAllowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cgroups/render.h"
#include "runtime/spec/resources.h"

namespace berth::cgroups {

struct DeviceCgroupRule {
  bool allow = false;
  char type = 'a';               // 'a', 'c', 'b'
  std::optional<int64_t> major;  // nullopt: any
  std::optional<int64_t> minor;
  std::string access = "rwm";
  std::string source;  // the config field, for errors
};

// Everything denied first, then the config's rules in order, then the devices
// every container may use (null, zero, full, random, urandom, tty, console,
// ptmx, pts, tun, and mknod of anything). The defaults come after the
// config's rules as in runc and crun, so callers that start their list with
// "deny all" (docker, podman) still get /dev/null. linux.devices entries get
// no rule of their own (as in runc): access to them is what
// linux.resources.devices says, so a deny rule written for one holds.
std::vector<DeviceCgroupRule> EffectiveDeviceRules(const std::vector<spec::DeviceRule>& config);

// "c 1:5 rwm", "a *:* rwm", "b 8:* r".
std::string RenderV1DeviceRule(const DeviceCgroupRule& rule);

// devices.deny / devices.allow writes for the v1 devices controller that
// give the same decisions as DeviceAllowed (the last match wins): the
// default ("a *:* rwm"), then the exceptions the rules leave. A rule that
// takes rights from part of an earlier, wider one cannot be expressed in v1:
// an error naming both.
absl::StatusOr<std::vector<FileWrite>> RenderV1Devices(const std::vector<DeviceCgroupRule>& rules);

// Whether `rules` let a process do `access` ("r", "w", "m" or a mix) on the
// device type:major:minor. The last rule that matches decides: an allow rule
// matches if it grants every requested right, a deny rule if it takes any of
// them; no match means denied.
bool DeviceAllowed(const std::vector<DeviceCgroupRule>& rules, char type, int64_t major,
                   int64_t minor, absl::string_view access);

}  // namespace berth::cgroups
