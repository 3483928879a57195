#include "runtime/cgroups/v1.h"

#include <sys/utsname.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/freezer.h"
#include "runtime/cgroups/oom.h"
#include "runtime/cgroups/render.h"
#include "runtime/cgroups/stat_files.h"
#include "runtime/cgroups/stats_read.h"
#include "runtime/cgroups/write_files.h"

namespace berth::cgroups {
namespace {

absl::Status NotMounted(absl::string_view controller, absl::string_view needed_for) {
  return absl::FailedPreconditionError(absl::StrCat(
      needed_for, ": the ", controller, " cgroup controller is not mounted on this host"));
}

std::optional<uint64_t> ReadValue(const std::string& dir, absl::string_view file) {
  auto text = ReadFile(absl::StrCat(dir, "/", file));
  if (!text.ok()) return std::nullopt;
  return ParseLimit(*text, 0);
}

// Linux 5.11 made memory cgroups hierarchical for good ("mm: memcg:
// deprecate the non-hierarchical mode").
bool MemoryHierarchyAlwaysOn() {
  struct utsname u;
  int major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 11);
}

}  // namespace

const std::string* V1Manager::DirFor(const std::string& controller) const {
  const CgroupDir* d = placement_.FindController(controller);
  return d ? &d->path : nullptr;
}

absl::Status V1Manager::WriteResources(const spec::Resources& r) const {
  V1Context ctx;
  if (const std::string* mem = DirFor("memory")) {
    ctx.has_memsw = CgroupFileExists(*mem, "memory.memsw.limit_in_bytes");
    ctx.current_memory_limit = ReadValue(*mem, "memory.limit_in_bytes");
    ctx.hierarchy_always_on = MemoryHierarchyAlwaysOn();
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<FileWrite> writes, RenderV1(r, ctx));
  BERTH_RETURN_IF_ERROR(
      ExecuteWritesOrRestore(writes, [this](const std::string& c) { return DirFor(c); }));
  // The kernel clamps cpu.shares silently; say so instead (runc does too).
  if (r.cpu && r.cpu->shares && *r.cpu->shares != 0) {
    const std::string* cpu = DirFor("cpu");
    std::optional<uint64_t> got = cpu ? ReadValue(*cpu, "cpu.shares") : std::nullopt;
    if (got && *got != *r.cpu->shares) {
      return absl::InvalidArgumentError(absl::StrCat("linux.resources.cpu.shares: ", *r.cpu->shares,
                                                     " is out of range: the kernel set ", *cpu,
                                                     "/cpu.shares to ", *got));
    }
  }
  return absl::OkStatus();
}

absl::Status V1Manager::Apply(const spec::Resources& r,
                              const std::vector<spec::Device>& /*no rules of their own*/) {
  BERTH_RETURN_IF_ERROR(WriteResources(r));
  if (DirFor("devices") == nullptr) {
    if (!r.devices.empty()) return NotMounted("devices", "linux.resources.devices");
    return absl::OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<FileWrite> writes,
                         RenderV1Devices(EffectiveDeviceRules(r.devices)));
  return ToleratedWhenRootless(
      ExecuteWrites(writes, [this](const std::string& c) { return DirFor(c); }));
}

absl::Status V1Manager::Update(const spec::Resources& r) {
  if (const std::string* mem = DirFor("memory")) {
    BERTH_RETURN_IF_ERROR(CheckMemoryBeforeUpdate(r, *mem, "memory.usage_in_bytes"));
  }
  return WriteResources(r);
}

absl::Status V1Manager::Freeze() {
  const std::string* dir = DirFor("freezer");
  if (dir == nullptr) return NotMounted("freezer", "pause");
  return SetFrozenV1(*dir, true);
}

absl::Status V1Manager::Thaw() {
  const std::string* dir = DirFor("freezer");
  if (dir == nullptr) return NotMounted("freezer", "resume");
  return SetFrozenV1(*dir, false);
}

bool V1Manager::IsFrozen() const {
  const std::string* dir = DirFor("freezer");
  return dir != nullptr && IsFrozenV1(*dir);
}

absl::StatusOr<Stats> V1Manager::GetStats() const { return ReadStatsV1(placement_); }

absl::StatusOr<std::unique_ptr<OomWatcher>> V1Manager::WatchOom() const {
  const std::string* dir = DirFor("memory");
  if (dir == nullptr) return NotMounted("memory", "OOM events");
  return WatchOomV1(*dir);
}

bool V1Manager::OomKilled() const {
  const std::string* dir = DirFor("memory");
  if (dir == nullptr) return false;
  auto text = ReadFile(absl::StrCat(*dir, "/memory.oom_control"));
  return text.ok() && ParseFlatKeyed(*text)["oom_kill"] > 0;
}

std::unique_ptr<Manager> NewV1Manager(Placement p) {
  return std::make_unique<V1Manager>(std::move(p));
}

}  // namespace berth::cgroups
