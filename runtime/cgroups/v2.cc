// The cgroup2 (unified) back end: one directory, controllers enabled by the
// parent's cgroup.subtree_control, devices guarded by an eBPF program.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/cgroups/bpf_devices.h"
#include "runtime/cgroups/controllers_v2.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/freezer.h"
#include "runtime/cgroups/manager.h"
#include "runtime/cgroups/oom.h"
#include "runtime/cgroups/render.h"
#include "runtime/cgroups/stat_files.h"
#include "runtime/cgroups/stats_read.h"
#include "runtime/cgroups/write_files.h"

namespace berth::cgroups {
namespace {

class V2Manager : public Manager {
 public:
  explicit V2Manager(Placement p) : Manager(std::move(p)) {}

  absl::Status Apply(const spec::Resources& r,
                     const std::vector<spec::Device>& /*no rules of their own*/) override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    BERTH_RETURN_IF_ERROR(WriteResources(r));
    auto program = DeviceProgram(EffectiveDeviceRules(r.devices));
    return ToleratedWhenRootless(
        Annotate(AttachDeviceProgram(*dir, program), "linux.resources.devices"));
  }

  absl::Status Update(const spec::Resources& r) override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    BERTH_RETURN_IF_ERROR(CheckMemoryBeforeUpdate(r, *dir, "memory.current"));
    V2Current now;
    now.cpu_max = ReadFile(absl::StrCat(*dir, "/cpu.max")).value_or("");
    now.memory_max = ReadFile(absl::StrCat(*dir, "/memory.max")).value_or("");
    now.memory_swap_max = ReadFile(absl::StrCat(*dir, "/memory.swap.max")).value_or("");
    BERTH_ASSIGN_OR_RETURN(spec::Resources complete, CompleteUpdateV2(r, now));
    return WriteResources(complete);
  }

  absl::Status Freeze() override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    return SetFrozenV2(*dir, true);
  }

  absl::Status Thaw() override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    return SetFrozenV2(*dir, false);
  }

  bool IsFrozen() const override {
    auto dir = Dir();
    return dir.ok() && IsFrozenV2(**dir);
  }

  absl::StatusOr<Stats> GetStats() const override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    return ReadStatsV2(*dir);
  }

  absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOom() const override {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    return WatchOomV2(*dir);
  }

  bool OomKilled() const override {
    auto dir = Dir();
    if (!dir.ok()) return false;
    auto text = ReadFile(absl::StrCat(**dir, "/memory.events"));
    return text.ok() && ParseFlatKeyed(*text)["oom_kill"] > 0;
  }

 private:
  absl::StatusOr<const std::string*> Dir() const {
    const CgroupDir* d = placement_.Unified();
    if (d == nullptr) return absl::FailedPreconditionError("container has no cgroup2 directory");
    return &d->path;
  }

  absl::Status WriteResources(const spec::Resources& r) const {
    BERTH_ASSIGN_OR_RETURN(const std::string* dir, Dir());
    BERTH_ASSIGN_OR_RETURN(std::vector<FileWrite> writes, RenderV2(r));
    BERTH_RETURN_IF_ERROR(EnableControllers(*dir, writes));
    return ExecuteWritesOrRestore(writes, [dir](const std::string&) { return dir; });
  }

  // The controllers the limits need, and the ones `berth events --stats`
  // reads where the kernel has them, enabled in every ancestor.
  static absl::Status EnableControllers(const std::string& dir,
                                        const std::vector<FileWrite>& writes) {
    std::map<std::string, std::string> needed = ControllersOfWrites(writes);
    std::set<std::string> wanted = {"cpu", "io", "memory", "pids"};
    for (const auto& [controller, field] : needed) wanted.insert(controller);
    EnableFailures failures = EnableControllersV2(dir, wanted);
    return CheckControllersV2(dir, needed, failures);
  }
};

}  // namespace

std::unique_ptr<Manager> NewV2Manager(Placement p) {
  return std::make_unique<V2Manager>(std::move(p));
}

}  // namespace berth::cgroups
