// The last part of preparing a container process, shared by the init and
// by `exec` so both get the same treatment: rlimits, scheduler, I/O
// priority, personality, LSM labels, user and groups, cwd (checked inside
// the container), env, PATH lookup (and the CVE-2019-5736 guard), umask,
// fds, noNewPrivileges, capabilities, seccomp.
//
// Everything the runtime can do before the seccomp filter is done by
// SetUpProcess. ExecProcess then loads the filter (unless a notify
// listener made SetUpProcess load it), applies the final capability sets
// when loading needed CAP_SYS_ADMIN (no noNewPrivileges), and calls execve:
// nothing in between allocates, opens a file or talks to the parent, so a
// profile that allows little more than execve, capset and prctl works.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/exe_guard.h"
#include "runtime/spec/spec.h"

namespace berth::container {

struct ExecPlan {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  InitSeccomp seccomp;  // linux.seccomp, compiled; see seccomp_setup.h for when it loads
  // The final capability sets, when they must follow the filter.
  std::optional<linux_ns::CapabilityPlan> capabilities_after_filter;
};

// `p` is the process to run (the spec's, or exec's); `s` gives the
// container-wide settings (personality, seccomp).
absl::StatusOr<ExecPlan> SetUpProcess(const spec::Spec& s, const spec::Process& p,
                                      InitSeccomp seccomp, int preserve_fds,
                                      const linux_ns::FileId& runtime_exe);

// Loads the filter if still pending, applies what must follow it, execs.
// Returns only on failure; an execve refused by the filter says so.
absl::Status ExecProcess(ExecPlan& plan);

// argv/envp for execve; the strings must outlive the result.
std::vector<char*> CStrings(std::vector<std::string>& v);

}  // namespace berth::container
