// process.capabilities with libcap: the sets are resolved up front, the
// bounding set dropped while CAP_SETPCAP is still at hand, KEEPCAPS across
// the uid change, then effective/permitted/inheritable and ambient set for
// the new user. That last step is one capset and a few prctl calls with
// nothing allocated or opened, so it can follow a seccomp filter loaded
// without noNewPrivileges (which needs CAP_SYS_ADMIN until then).
#pragma once

#include <sys/capability.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// Checks every name and that the runtime itself holds the capability.
absl::Status ValidateCapabilities(const spec::Capabilities& caps);

// Before SwitchUser: keep the permitted set across setuid.
absl::Status PrepareCapabilitiesForUserSwitch();

struct CapFree {
  void operator()(struct _cap_struct* c) const { cap_free(c); }
};

// process.capabilities resolved to values, the final set built.
struct CapabilityPlan {
  std::vector<cap_value_t> bounding;
  std::vector<cap_value_t> ambient;                   // only those that can be raised
  std::unique_ptr<struct _cap_struct, CapFree> sets;  // effective, permitted, inheritable
};
absl::StatusOr<CapabilityPlan> ResolveCapabilities(const spec::Capabilities& caps);

// After SwitchUser: drops from the bounding set what is not in the plan
// (CAP_SETPCAP is raised briefly from the kept permitted set for it).
absl::Status DropBoundingSet(const CapabilityPlan& plan);

// Raises `cap` from the permitted into the effective set (after a switch to
// a non-root uid the effective set is empty); best effort: the operation
// that needs it reports its absence.
void RaiseEffective(cap_value_t cap);

// Sets effective/permitted/inheritable and ambient. Allocates nothing and
// opens nothing: safe under the container's seccomp filter (needs capset
// and prctl).
absl::Status SetProcessCapabilities(const CapabilityPlan& plan);

// ResolveCapabilities + DropBoundingSet + SetProcessCapabilities.
absl::Status ApplyCapabilities(const spec::Capabilities& caps);

}  // namespace berth::linux_ns
