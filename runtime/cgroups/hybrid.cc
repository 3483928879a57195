// The hybrid back end (systemd's "hybrid" layout): every limit goes to the
// v1 controllers, as with runc, and the process is also placed in the
// cgroup2 hierarchy (placement.cc does that for every hierarchy in use).
// cgroup2 adds what v1 lacks there: `unified` keys are written into the
// container's cgroup2 directory, and without a v1 freezer, pausing uses
// cgroup.freeze.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "runtime/cgroups/freezer.h"
#include "runtime/cgroups/render.h"
#include "runtime/cgroups/v1.h"
#include "runtime/cgroups/write_files.h"

namespace berth::cgroups {
namespace {

class HybridManager : public V1Manager {
 public:
  explicit HybridManager(Placement p) : V1Manager(std::move(p)) {}

  absl::Status Apply(const spec::Resources& r, const std::vector<spec::Device>& devices) override {
    BERTH_RETURN_IF_ERROR(V1Manager::Apply(WithoutUnified(r), devices));
    return WriteUnified(r);
  }

  absl::Status Update(const spec::Resources& r) override {
    BERTH_RETURN_IF_ERROR(V1Manager::Update(WithoutUnified(r)));
    return WriteUnified(r);
  }

  absl::Status Freeze() override {
    if (UseV2Freezer()) return SetFrozenV2(placement_.Unified()->path, true);
    return V1Manager::Freeze();
  }

  absl::Status Thaw() override {
    if (UseV2Freezer()) return SetFrozenV2(placement_.Unified()->path, false);
    return V1Manager::Thaw();
  }

  bool IsFrozen() const override {
    if (UseV2Freezer()) return IsFrozenV2(placement_.Unified()->path);
    return V1Manager::IsFrozen();
  }

 private:
  static spec::Resources WithoutUnified(spec::Resources r) {
    r.unified.clear();
    return r;
  }

  bool UseV2Freezer() const {
    return DirFor("freezer") == nullptr && placement_.Unified() != nullptr;
  }

  absl::Status WriteUnified(const spec::Resources& r) const {
    if (r.unified.empty()) return absl::OkStatus();
    const CgroupDir* unified = placement_.Unified();
    if (unified == nullptr) {
      return absl::FailedPreconditionError(
          "linux.resources.unified: the container has no cgroup2 directory");
    }
    std::vector<FileWrite> writes;
    for (const auto& [key, value] : r.unified) {
      writes.push_back(
          {"", {{key, value}}, absl::StrCat("linux.resources.unified[\"", key, "\"]")});
    }
    return ExecuteWrites(writes, [unified](const std::string&) { return &unified->path; });
  }
};

}  // namespace

std::unique_ptr<Manager> NewHybridManager(Placement p) {
  return std::make_unique<HybridManager>(std::move(p));
}

}  // namespace berth::cgroups
