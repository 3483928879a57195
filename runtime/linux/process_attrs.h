// Kernel attributes of the container process: scheduler, I/O priority,
// personality, LSM labels, and the time namespace with its offsets.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

absl::Status ApplyScheduler(const spec::Scheduler& s);
absl::Status ApplyIoPriority(const spec::IoPriority& p);
absl::Status ApplyPersonality(const spec::Personality& p);
// set_mempolicy(2): the policy the process and its children allocate with.
absl::Status ApplyMemoryPolicy(const spec::MemoryPolicy& m);

// apparmorProfile / selinuxLabel / mountLabel: a clear error when the LSM
// they need is not enabled on this host (checked before anything is made).
absl::Status ValidateLsm(const spec::Spec& s);
// Labels the next execve (after pivot_root, through the container's procfs).
absl::Status ApplyLsmExecLabels(const spec::Process& p);

// A new time namespace with linux.timeOffsets, entered by this process
// (offsets can only be written before a process is in the namespace).
absl::Status EnterNewTimeNamespace(const std::map<std::string, spec::TimeOffset>& offsets);

}  // namespace berth::linux_ns
