// process.capabilities with libcap: bounding set dropped while still root,
// KEEPCAPS across the uid change, then effective/permitted/inheritable and
// ambient set for the new user.
#pragma once

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// Checks every name and that the runtime itself holds the capability.
absl::Status ValidateCapabilities(const spec::Capabilities& caps);

// Before SwitchUser: keep the permitted set across setuid.
absl::Status PrepareCapabilitiesForUserSwitch();

// After SwitchUser (bounding is dropped here too, with CAP_SETPCAP still in
// the permitted set, raised briefly into the effective set).
absl::Status ApplyCapabilities(const spec::Capabilities& caps);

}  // namespace berth::linux_ns
