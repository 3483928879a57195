// Where linux.seccomp goes in during create, on both sides of the sync
// socket. The filter is compiled early in the init (errors reach the user)
// and installed as late as possible:
//  - without process.noNewPrivileges loading needs CAP_SYS_ADMIN, so before
//    the init switches user and drops capabilities;
//  - with an SCMP_ACT_NOTIFY rule the notify fd must reach the listener
//    before "ready", so at the end of setup (the fd goes to the parent,
//    which hands it to the agent at listenerPath: the init cannot reach a
//    host path after pivot_root);
//  - otherwise right before execve, so the filter sees the user's process
//    and (almost) nothing of the runtime's.
#pragma once

#include <sys/types.h>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/linux/seccomp_filter.h"
#include "runtime/spec/spec.h"

namespace berth::container {

// The init's side. Every step is a no-op without linux.seccomp, and the
// filter is loaded by the first step whose turn it is.
class InitSeccomp {
 public:
  InitSeccomp() = default;
  static absl::StatusOr<InitSeccomp> Compile(const spec::Spec& spec, int sync_fd);

  // Before the user switch and the capability drop.
  absl::Status BeforeUserSwitch();
  // Last step of setup, before "ready".
  absl::Status EndOfSetup();
  // Right before execve. For the init the sync socket is closed by then:
  // the caller logs the error.
  absl::Status BeforeExec();

 private:
  // Loads the filter (once) and sends a notify fd to the parent.
  absl::Status Load();

  std::optional<linux_ns::SeccompProgram> program_;
  bool no_new_privileges_ = false;
  int sync_fd_ = -1;
};

// The parent's side: hands a notify fd (the init's, or an exec'd
// process's) to the agent listening at linux.seccomp.listenerPath, with the
// container process state (runtime-spec config-linux.md) as payload: one
// connection, one message. `status` and `pid` are the container's (its
// init's pid), as runc sends them.
absl::Status SendToSeccompListener(const spec::Spec& spec, absl::string_view id,
                                   absl::string_view status, pid_t pid, absl::string_view bundle,
                                   int notify_fd);

}  // namespace berth::container
