// Where linux.seccomp goes in, on both sides of the sync socket. The filter
// is compiled, or read from the --root's cache (linux/seccomp_cache.h), by
// the runtime before it clones the init or exec'd process (errors reach the
// user, the cache is the runtime's own), and installed by that process as
// late as possible:
//  - with an SCMP_ACT_NOTIFY rule the notify fd must reach the listener
//    before "ready", so at the end of setup (the fd goes to the parent,
//    which hands it to the agent at listenerPath: the init cannot reach a
//    host path after pivot_root);
//  - otherwise right before execve, after the exec fifo and the
//    startContainer hooks. Without process.noNewPrivileges loading needs
//    CAP_SYS_ADMIN, so the final capability sets are applied after it
//    (process_setup.h): that and execve are all that runs under the
//    container's filter.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

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
  // In the runtime, before the clone: `sync_fd` is the child's end of the
  // sync socket, where a notify fd goes; the cache is state_root's ("":
  // none).
  static absl::StatusOr<InitSeccomp> Compile(const spec::Spec& spec, int sync_fd,
                                             const std::string& state_root);

  // A filter is still to be loaded.
  bool pending() const { return program_.has_value(); }
  // It must be loaded at the end of setup (it has a notify listener).
  bool loads_at_end_of_setup() const { return program_ && program_->notify(); }
  // Loading it needs CAP_SYS_ADMIN (no noNewPrivileges): the capability
  // drop must wait for it.
  bool needs_privilege() const { return program_ && !no_new_privileges_; }

  // Loads the filter if still pending and sends a notify fd to the parent.
  // For the init after "commit" the sync socket is closed: no notify then.
  absl::Status Load();

  // Why execve may have failed with `err` after the filter went in: a note
  // naming linux.seccomp when its rules give execve that errno, else "".
  std::string ExecveFailureNote(int err) const;

 private:
  std::optional<linux_ns::SeccompProgram> program_;
  bool no_new_privileges_ = false;
  bool loaded_ = false;
  int sync_fd_ = -1;
  // What the profile answers to execve: the errno of an ERRNO action (-1
  // for another denying action, 0 if allowed), and whether that depends on
  // arguments.
  int execve_errno_ = 0;
  bool execve_conditional_ = false;
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
