#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

int CloneFlag(spec::NamespaceType t);

// A namespace to join, opened by the parent before cloning (so a bad path is
// reported before anything is created), checked to be of the right type.
struct NamespaceToJoin {
  spec::NamespaceType type;
  UniqueFd fd;
};
absl::StatusOr<std::vector<NamespaceToJoin>> OpenNamespacesToJoin(const spec::Spec& spec);

// CLONE_NEW* flags for the namespaces to create, except those that must be
// created later by the child itself (cgroup: after joining the cgroup).
int NewNamespaceCloneFlags(const spec::Spec& spec);

absl::Status Join(const NamespaceToJoin& ns);

}  // namespace berth::linux_ns
