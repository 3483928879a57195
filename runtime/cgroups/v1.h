// The cgroup v1 back end: one directory per mounted hierarchy, each
// controller's files in its own hierarchy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/cgroups/manager.h"

namespace berth::cgroups {

class V1Manager : public Manager {
 public:
  explicit V1Manager(Placement p) : Manager(std::move(p)) {}

  absl::Status Apply(const spec::Resources& r, const std::vector<spec::Device>& devices) override;
  absl::Status Update(const spec::Resources& r) override;
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool IsFrozen() const override;
  absl::StatusOr<Stats> GetStats() const override;
  absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOom() const override;
  bool OomKilled() const override;

 protected:
  // Everything but the device rules.
  absl::Status WriteResources(const spec::Resources& r) const;
  // The directory of the hierarchy carrying `controller`, or nullptr.
  const std::string* DirFor(const std::string& controller) const;
};

}  // namespace berth::cgroups
