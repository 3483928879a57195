// Where the systemd cgroup driver puts a container: linux.cgroupsPath in
// the form "slice:prefix:name" (what dockerd, podman and the kubelet send
// with --systemd-cgroup) → the parent slice and the transient scope unit
// "<prefix>-<name>.scope", and the slice's cgroup path as systemd names it
// (a-b.slice lives in /a.slice/a-b.slice). Pure, unit-tested.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cgroups {

struct SystemdUnitName {
  std::string slice;  // "system.slice", "-.slice" for the root slice
  std::string unit;   // "docker-ID.scope"
};

// cgroupsPath → slice and scope. Empty means ":berth:<id>"; an empty slice
// is system.slice, or user.slice for the user's manager (rootless), as in
// runc; "-" is the root slice. Errors name linux.cgroupsPath and the
// expected form.
absl::StatusOr<SystemdUnitName> ParseSystemdCgroupsPath(absl::string_view cgroups_path,
                                                        absl::string_view id, bool user_manager);

// "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "" (the
// root). Errors for names systemd would refuse (no .slice suffix, a '/',
// "--", a leading or trailing '-').
absl::StatusOr<std::string> ExpandSlice(absl::string_view slice);

// Whether a cgroupsPath has the systemd form (two ':' and no '/'), to tell
// a caller that forgot --systemd-cgroup what happened.
bool LooksLikeSystemdCgroupsPath(absl::string_view cgroups_path);

}  // namespace berth::cgroups
