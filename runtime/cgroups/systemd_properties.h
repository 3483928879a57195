// linux.resources → the properties of the container's transient scope, so
// systemd's own idea of the unit matches the limits berth writes into the
// cgroup files (a `systemctl daemon-reload` re-applies the unit's
// properties to its cgroup: without them it would undo the limits). Only
// what systemd has a property for; the cgroup files get everything, as with
// the cgroupfs driver. Pure, unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/spec/resources.h"

namespace berth::cgroups {

// D-Bus signatures: b, t, s, au, ay, a(ss).
using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;
using PropertyValue = std::variant<bool, uint64_t, std::string, std::vector<uint32_t>,
                                   std::vector<uint8_t>, DeviceAllowList>;

struct UnitProperty {
  std::string name;
  PropertyValue value;
  bool operator==(const UnitProperty&) const = default;
};

// systemd's "infinity" for t-typed limits.
inline constexpr uint64_t kSystemdInfinity = UINT64_MAX;

// The resource properties for cgroup v2 (`unified`) or v1 (MemoryLimit,
// CPUShares, BlockIOWeight instead of their v2 names). Errors name the
// config field.
absl::StatusOr<std::vector<UnitProperty>> ResourceProperties(const spec::Resources& r,
                                                             bool unified);

// The device policy for the effective rules (device_rules.h): DevicePolicy
// "auto" when they let everything through, else "strict" with a DeviceAllow
// entry for every allow rule. systemd's list has no deny entries: it allows
// at least what berth's own program (v2) or devices.* files (v1) allow,
// and those narrow it down to the exact rules. `proc_devices` is the text
// of /proc/devices, for majors without a minor ("char-pts").
std::vector<UnitProperty> DeviceProperties(const std::vector<DeviceCgroupRule>& rules,
                                           absl::string_view proc_devices);

// "0-3,7" → systemd's CPU/NUMA node bit mask (byte i, bit j = number 8i+j).
absl::StatusOr<std::vector<uint8_t>> CpuListToMask(absl::string_view list, absl::string_view field);

// For messages and tests: "MemoryMax=1048576".
std::string RenderProperty(const UnitProperty& p);

}  // namespace berth::cgroups
