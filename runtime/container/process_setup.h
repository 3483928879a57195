// The last part of preparing a container process, shared by the init and
// by `exec` so both get the same treatment: rlimits, scheduler, I/O
// priority, personality, LSM labels, user and groups, cwd (checked inside
// the container), env, PATH lookup (and the CVE-2019-5736 guard),
// noNewPrivileges, capabilities, umask, fds, seccomp.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/linux/exe_guard.h"
#include "runtime/spec/spec.h"

namespace berth::container {

struct ExecPlan {
  std::string path;
  std::vector<std::string> env;
  InitSeccomp seccomp;  // linux.seccomp, compiled; see seccomp_setup.h for when it loads
};

// `p` is the process to run (the spec's, or exec's); `s` gives the
// container-wide settings (personality, seccomp).
absl::StatusOr<ExecPlan> SetUpProcess(const spec::Spec& s, const spec::Process& p,
                                      InitSeccomp seccomp, int preserve_fds,
                                      const linux_ns::FileId& runtime_exe);

// argv/envp for execve; the strings must outlive the result.
std::vector<char*> CStrings(std::vector<std::string>& v);

}  // namespace berth::container
