// The container's root filesystem as containerd describes it in Create: the
// snapshotter's mounts (overlay, bind...), stacked in order on bundle/rootfs.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd_types.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace berth::shim {

using MountList = google::protobuf::RepeatedPtrField<containerd::types::Mount>;

// Mounts each of `mounts` on `target`; on failure unmounts what it mounted.
// Returns how many mounts are now stacked there.
absl::StatusOr<int> MountRootfs(const MountList& mounts, const std::string& target);
// Unmounts `count` mounts from `target` (the ones MountRootfs made).
absl::Status UnmountRootfs(const std::string& target, int count);
// Unmounts whatever is mounted on `target` (cleanup after a dead shim).
void UnmountAll(const std::string& target);

}  // namespace berth::shim
