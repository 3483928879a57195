#pragma once

#include <vector>

#include "absl/status/status.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

// Resource number for "RLIMIT_NOFILE" etc.; -1 if unknown.
int RlimitResource(const std::string& name);

// process.rlimits. Raising a hard limit needs CAP_SYS_RESOURCE: the error
// names the limit and says so rather than a bare EPERM.
absl::Status ApplyRlimits(const std::vector<spec::Rlimit>& rlimits);

absl::Status SetOomScoreAdj(int value);

}  // namespace berth::linux_ns
