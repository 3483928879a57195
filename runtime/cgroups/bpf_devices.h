// Device access control on cgroup2: an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE, written as plain BPF instructions, loaded and
// attached (BPF_CGROUP_DEVICE) with the bpf(2) syscall. It decides exactly
// as DeviceAllowed (device_rules.h) does.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/cgroups/device_rules.h"

namespace berth::cgroups {

// The program for `rules` (pure; unit tests run it through a small BPF
// interpreter and compare with DeviceAllowed).
std::vector<bpf_insn> DeviceProgram(const std::vector<DeviceCgroupRule>& rules);

// Loads `program` and attaches it to the cgroup2 directory `dir` (with
// BPF_F_ALLOW_MULTI, so programs of parent cgroups keep applying too). The
// attachment lives as long as the cgroup; nothing to clean up.
absl::Status AttachDeviceProgram(const std::string& dir, const std::vector<bpf_insn>& program);

}  // namespace berth::cgroups
