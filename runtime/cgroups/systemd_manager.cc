#include "runtime/cgroups/systemd_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/systemd_bus.h"
#include "runtime/cgroups/systemd_properties.h"
#include "runtime/cgroups/systemd_unit_name.h"

namespace berth::cgroups {
namespace {

std::unique_ptr<Manager> NewCgroupfsManager(Placement p) {
  switch (p.mode) {
    case Mode::kV2:
      return NewV2Manager(std::move(p));
    case Mode::kHybrid:
      return NewHybridManager(std::move(p));
    case Mode::kV1:
      break;
  }
  return NewV1Manager(std::move(p));
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

class SystemdManager : public Manager {
 public:
  // With `start_properties` the scope is still to be started (create),
  // without it runs already (loaded from state.json).
  SystemdManager(Placement p, std::string unit, std::string control_group, bool user,
                 std::unique_ptr<SystemdBus> bus, std::vector<UnitProperty> start_properties)
      : Manager(p),
        unit_(std::move(unit)),
        control_group_(std::move(control_group)),
        user_(user),
        started_(start_properties.empty()),
        start_properties_(std::move(start_properties)),
        bus_(std::move(bus)),
        files_(NewCgroupfsManager(std::move(p))) {}

  std::string SystemdUnit() const override { return unit_; }
  bool SystemdUserManager() const override { return user_; }

  // At create, the first Join starts the scope with the init in it; later
  // ones (exec) join the running scope's directories.
  absl::Status Join(pid_t pid) override {
    if (!started_) {
      std::vector<UnitProperty> props = start_properties_;
      props.push_back({"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}});
      BERTH_ASSIGN_OR_RETURN(SystemdBus * bus, Bus());
      // From here Destroy stops and resets the unit: a job that failed
      // leaves it loaded in the failed state.
      started_ = true;
      BERTH_RETURN_IF_ERROR(bus->StartTransientUnit(unit_, props));
      BERTH_RETURN_IF_ERROR(CheckControlGroup(bus));
      BERTH_RETURN_IF_ERROR(MakeMissingDirs());
    }
    return Manager::Join(pid);
  }

  absl::Status Apply(const spec::Resources& r, const std::vector<spec::Device>& devices) override {
    return files_->Apply(r, devices);
  }

  absl::Status Update(const spec::Resources& r) override {
    BERTH_ASSIGN_OR_RETURN(std::vector<UnitProperty> props,
                           ResourceProperties(r, placement_.mode == Mode::kV2));
    if (!props.empty()) {
      BERTH_ASSIGN_OR_RETURN(SystemdBus * bus, Bus());
      BERTH_RETURN_IF_ERROR(bus->SetUnitProperties(unit_, props));
    }
    return files_->Update(r);
  }

  absl::Status Freeze() override { return files_->Freeze(); }
  absl::Status Thaw() override { return files_->Thaw(); }
  bool IsFrozen() const override { return files_->IsFrozen(); }
  absl::StatusOr<Stats> GetStats() const override { return files_->GetStats(); }
  absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOom() const override {
    return files_->WatchOom();
  }
  bool OomKilled() const override { return files_->OomKilled(); }

  // Stops the scope (systemd removes its cgroups; a scope whose processes
  // all exited is already gone), resets it if it failed, then removes
  // what berth made itself (v1 hierarchies systemd does not manage) and
  // anything systemd left.
  absl::Status Destroy() const override {
    absl::Status result;
    if (started_) {
      auto bus = Bus();
      if (bus.ok()) {
        result.Update((*bus)->StopUnit(unit_));
        (*bus)->ResetFailedUnit(unit_).IgnoreError();
      } else {
        result.Update(bus.status());
      }
    }
    result.Update(RemoveCreated(placement_.created_dirs));
    for (const CgroupDir& d : placement_.dirs) {
      if (Exists(d.path)) result.Update(RemoveCreated({d.path}));
    }
    return result;
  }

 private:
  absl::StatusOr<SystemdBus*> Bus() const {
    if (!bus_) {
      BERTH_ASSIGN_OR_RETURN(bus_, SystemdBus::Connect(user_));
    }
    return bus_.get();
  }

  // The scope must be where the init was told its cgroup is (the cgroup
  // namespace and the /sys/fs/cgroup mount are set up from it).
  absl::Status CheckControlGroup(SystemdBus* bus) const {
    BERTH_ASSIGN_OR_RETURN(std::string cg, bus->UnitControlGroup(unit_));
    if (cg != control_group_) {
      return absl::InternalError(absl::StrCat("systemd put ", unit_, " in cgroup ", cg,
                                              ", not where berth expected it: ", control_group_));
    }
    return absl::OkStatus();
  }

  // v1 hierarchies systemd does not manage (cpuset, freezer, net_cls...)
  // get the scope's path made by berth, as runc does.
  absl::Status MakeMissingDirs() {
    for (const CgroupDir& d : placement_.dirs) {
      if (Exists(d.path)) continue;
      Mode mode = d.hierarchy.unified ? Mode::kV2 : Mode::kV1;
      BERTH_ASSIGN_OR_RETURN(Placement made,
                             CreatePlacement(mode, {d.hierarchy}, control_group_, ""));
      for (std::string& dir : made.created_dirs) placement_.created_dirs.push_back(std::move(dir));
    }
    return absl::OkStatus();
  }

  std::string unit_;
  std::string control_group_;  // below each hierarchy's root
  bool user_;
  bool started_;
  std::vector<UnitProperty> start_properties_;
  mutable std::unique_ptr<SystemdBus> bus_;
  std::unique_ptr<Manager> files_;
};

// What every scope gets, then the limits.
absl::StatusOr<std::vector<UnitProperty>> StartProperties(const std::string& id,
                                                          const std::string& slice, Mode mode,
                                                          const spec::Resources* resources) {
  bool unified = mode == Mode::kV2;
  std::vector<UnitProperty> props = {
      {"Description", absl::StrCat("berth container ", id)},
      {"Slice", slice},
      {"Delegate", true},
      {"DefaultDependencies", false},
      {"MemoryAccounting", true},
      {"CPUAccounting", true},
      {unified ? "IOAccounting" : "BlockIOAccounting", true},
      {"TasksAccounting", true},
  };
  spec::Resources none;
  const spec::Resources& r = resources ? *resources : none;
  BERTH_ASSIGN_OR_RETURN(std::vector<UnitProperty> limits, ResourceProperties(r, unified));
  props.insert(props.end(), limits.begin(), limits.end());
  std::string proc_devices = ReadFile("/proc/devices").value_or("");
  for (UnitProperty& p : DeviceProperties(EffectiveDeviceRules(r.devices), proc_devices)) {
    props.push_back(std::move(p));
  }
  return props;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Manager>> CreateSystemdManager(
    const std::vector<Hierarchy>& hierarchies, const std::string& cgroups_path,
    const std::string& id, bool user, const spec::Resources* resources) {
  // The form first: a wrong cgroupsPath is wrong on any host.
  BERTH_ASSIGN_OR_RETURN(SystemdUnitName name, ParseSystemdCgroupsPath(cgroups_path, id, user));
  BERTH_ASSIGN_OR_RETURN(std::string slice_path, ExpandSlice(name.slice));
  if (::access("/run/systemd/system", F_OK) != 0) {
    return absl::FailedPreconditionError(
        "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)");
  }
  Mode mode = ModeOfHierarchies(hierarchies);
  BERTH_ASSIGN_OR_RETURN(std::vector<UnitProperty> props,
                         StartProperties(id, name.slice, mode, resources));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<SystemdBus> bus, SystemdBus::Connect(user));
  BERTH_ASSIGN_OR_RETURN(std::string manager_cg, bus->ManagerControlGroup());
  std::string rel = absl::StrCat(absl::StripSuffix(manager_cg, "/"), slice_path, "/", name.unit);

  // A failed scope of an earlier container with this name is reset; an
  // active one belongs to someone else.
  BERTH_ASSIGN_OR_RETURN(bool loaded, bus->UnitLoaded(name.unit));
  if (loaded) {
    bus->ResetFailedUnit(name.unit).IgnoreError();
    BERTH_ASSIGN_OR_RETURN(loaded, bus->UnitLoaded(name.unit));
    if (loaded) {
      return absl::AlreadyExistsError(
          absl::StrCat("linux.cgroupsPath: the systemd unit ", name.unit, " already exists"));
    }
  }

  Placement p;
  p.mode = mode;
  for (const Hierarchy& h : HierarchiesForMode(hierarchies, mode)) {
    p.dirs.push_back({h, absl::StrCat(h.mountpoint, rel)});
  }
  return std::unique_ptr<Manager>(
      new SystemdManager(std::move(p), name.unit, rel, user, std::move(bus), std::move(props)));
}

std::unique_ptr<Manager> LoadSystemdManager(Placement p, const std::string& unit, bool user) {
  return std::make_unique<SystemdManager>(std::move(p), unit, "", user, nullptr,
                                          std::vector<UnitProperty>{});
}

}  // namespace berth::cgroups
