// linux.seccomp: libseccomp compiles the config to a BPF program once, early
// (errors still reach the user); loading it later is a single seccomp(2)
// call, so the filter can go in right before execve with nothing that can
// fail on the way but the kernel's own check. (Not named linux/seccomp.h:
// with runtime/ on the include path it would shadow the kernel's header.)
#pragma once

#include <linux/filter.h>

#include <vector>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"
#include "runtime/spec/seccomp.h"

namespace berth::linux_ns {

struct SeccompProgram {
  std::vector<struct sock_filter> bpf;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_*

  // A rule returns SCMP_ACT_NOTIFY (flags ask for a listener): loading
  // yields a listener fd.
  bool notify() const;
};

// Builds the filter: default action, architectures (the native one is always
// kept), one rule per syscall name with its argument conditions, flags.
// Names libseccomp does not know are skipped with a debug log, as runc does.
// The config is the parser's, checked already (errno ranges, notify rules);
// what libseccomp refuses is reported naming the config field.
absl::StatusOr<SeccompProgram> CompileSeccomp(const spec::Seccomp& config);

// Installs the program on the calling thread. Without no_new_privs the
// caller needs CAP_SYS_ADMIN. Returns the notify fd (O_CLOEXEC) when
// program.notify(), else an empty UniqueFd.
absl::StatusOr<UniqueFd> LoadSeccomp(const SeccompProgram& program);

// The SECCOMP_FILTER_FLAG_* bits berth passes for a config flag, in a
// filter with or without a notify listener (NEW_LISTENER itself aside);
// 0 if the flag means nothing there (WAIT_KILLABLE_RECV without one).
unsigned int KernelFlagBits(spec::SeccompFlag f, bool listener);

// Whether this kernel takes the bits of `f` (probed with seccomp(2),
// installing nothing): for `berth features`.
bool KernelSupports(spec::SeccompFlag f);

}  // namespace berth::linux_ns
