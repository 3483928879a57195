// A container's cgroup behind one interface, with three back ends chosen by
// what the host mounts (mode.h): v1, v2 (unified) and hybrid (v1 controllers,
// and the process also placed in the cgroup2 hierarchy, as runc does).
// Directories berth did not create are never removed.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"
#include "runtime/cgroups/hierarchy.h"
#include "runtime/cgroups/mode.h"
#include "runtime/cgroups/placement.h"
#include "runtime/cgroups/stats.h"
#include "runtime/spec/resources.h"
#include "runtime/spec/spec.h"

namespace berth::cgroups {

// Tells when the container's processes were OOM-killed.
class OomWatcher {
 public:
  virtual ~OomWatcher() = default;
  // Becomes readable (poll POLLIN) when something may have happened.
  virtual int fd() const = 0;
  // After fd() polled readable: how many new OOM events there were (0 for a
  // wake-up without one). NotFound once the cgroup is gone.
  virtual absl::StatusOr<uint64_t> Consume() = 0;
};

class Manager {
 public:
  virtual ~Manager() = default;
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  Mode mode() const { return placement_.mode; }
  const Placement& placement() const { return placement_; }

  // Moves pid into the container's directory in every hierarchy (the
  // systemd driver starts its scope with the first one).
  virtual absl::Status Join(pid_t pid);

  // At create, after Join and before the init runs the user's program: every
  // limit in `r` plus the device rules (the config's, then the defaults;
  // `devices`, linux.devices, get none of their own, as in runc). Errors
  // name the config field, the file and the value.
  virtual absl::Status Apply(const spec::Resources& r,
                             const std::vector<spec::Device>& devices) = 0;

  // `berth update`: writes the values present in `r` and nothing else
  // (device rules are not changed, as in runc).
  virtual absl::Status Update(const spec::Resources& r) = 0;

  // Freezes or thaws every process, waiting until the kernel reports the
  // new state.
  virtual absl::Status Freeze() = 0;
  virtual absl::Status Thaw() = 0;
  virtual bool IsFrozen() const = 0;

  // Pids in the container's cgroup.
  absl::StatusOr<std::vector<pid_t>> Pids() const;

  virtual absl::StatusOr<Stats> GetStats() const = 0;

  virtual absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOom() const = 0;

  // Whether the kernel's OOM killer has killed a process of the container
  // (why an init can die before it runs anything).
  virtual bool OomKilled() const = 0;

  // For delete --force: SIGKILL to every process (also through cgroup2's
  // cgroup.kill, which reaches what a pid list races with), then thaws the
  // container's cgroup and every cgroup inside it, whoever froze them:
  // frozen v1 tasks act on the signal only once thawed.
  void KillAndThawAll() const;

  // Removes the directories berth created, innermost first (the systemd
  // driver stops its scope first).
  virtual absl::Status Destroy() const;

  // The systemd driver's scope ("docker-ID.scope") and whether it belongs
  // to the user's systemd instance; empty and false for cgroupfs.
  virtual std::string SystemdUnit() const { return ""; }
  virtual bool SystemdUserManager() const { return false; }

 protected:
  explicit Manager(Placement p) : placement_(std::move(p)) {}

  Placement placement_;
};

// Who creates the container's cgroup: berth itself in the cgroup file
// system, or systemd (--systemd-cgroup) as a transient scope of the system
// instance, or of the user's own instance when rootless.
enum class Driver { kCgroupfs, kSystemd, kSystemdUser };

// Detects the host's mode, and creates the container's directories in the
// hierarchies that mode uses (the hierarchies come from DetectHierarchies);
// the systemd driver only names them here and starts its scope at Join.
// `resources` (may be null) become the scope's properties. A cgroupsPath
// in the other driver's form is refused naming the form expected.
absl::StatusOr<std::unique_ptr<Manager>> CreateManager(const std::vector<Hierarchy>& hierarchies,
                                                       const std::string& cgroups_path,
                                                       const std::string& id,
                                                       Driver driver = Driver::kCgroupfs,
                                                       const spec::Resources* resources = nullptr);

// The manager of an existing container, from what state.json recorded. An
// empty or unknown mode (a state written before modes were recorded) is
// detected again. A recorded systemd unit gives the systemd driver's manager.
std::unique_ptr<Manager> LoadManager(absl::string_view mode,
                                     const std::map<std::string, std::string>& paths_by_key,
                                     const std::vector<std::string>& created_dirs,
                                     const std::string& systemd_unit = "",
                                     bool systemd_user = false);

// The back ends (v1.cc, v2.cc, hybrid.cc).
std::unique_ptr<Manager> NewV1Manager(Placement p);
std::unique_ptr<Manager> NewV2Manager(Placement p);
std::unique_ptr<Manager> NewHybridManager(Placement p);

}  // namespace berth::cgroups
