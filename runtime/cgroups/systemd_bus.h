// The systemd manager over D-Bus, through libsystemd's sd-bus loaded on
// demand (dlopen of libsystemd.so.0): the berth binary does not link
// libsystemd, so the cgroupfs driver loads nothing and opens no bus.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/cgroups/systemd_properties.h"

namespace berth::cgroups {

class SystemdBus {
 public:
  // The system instance (root: systemd's private socket, as systemctl
  // does, else the system bus) or, for `user`, the caller's own instance
  // over the session bus (DBUS_SESSION_BUS_ADDRESS, else
  // $XDG_RUNTIME_DIR/bus). Errors say which library, socket or variable
  // is missing.
  static absl::StatusOr<std::unique_ptr<SystemdBus>> Connect(bool user);

  virtual ~SystemdBus() = default;

  // StartTransientUnit(unit, "replace", properties), then waits for its
  // job to finish (JobRemoved); anything but "done" is an error naming the
  // unit and the result.
  virtual absl::Status StartTransientUnit(const std::string& unit,
                                          const std::vector<UnitProperty>& properties) = 0;

  // StopUnit and wait; a unit systemd no longer knows is fine.
  virtual absl::Status StopUnit(const std::string& unit) = 0;

  // ResetFailedUnit, so a failed scope does not linger; errors ignored by
  // callers that only clean up.
  virtual absl::Status ResetFailedUnit(const std::string& unit) = 0;

  // SetUnitProperties(unit, runtime=true, properties).
  virtual absl::Status SetUnitProperties(const std::string& unit,
                                         const std::vector<UnitProperty>& properties) = 0;

  // The manager's own cgroup ("" for pid 1, /user.slice/user-1000.slice/
  // user@1000.service for a user's), below which its slices live.
  virtual absl::StatusOr<std::string> ManagerControlGroup() = 0;

  // A loaded unit's ControlGroup property; NotFound when systemd does not
  // know the unit.
  virtual absl::StatusOr<std::string> UnitControlGroup(const std::string& unit) = 0;

  // Whether systemd has the unit loaded (any state).
  virtual absl::StatusOr<bool> UnitLoaded(const std::string& unit) = 0;
};

// How long a job may take before berth gives up waiting (runc: 30 s).
inline constexpr absl::Duration kSystemdJobTimeout = absl::Seconds(30);

}  // namespace berth::cgroups
