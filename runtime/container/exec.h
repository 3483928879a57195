// `berth exec`: a new process in a running container — every namespace and
// the cgroup of its init, and the same capability/seccomp/rlimit treatment
// as the init (process_setup.h).
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"
#include "runtime/container/exec_process.h"

namespace berth::container {

struct ExecOptions {
  std::string root;
  std::string id;
  std::string process_file;    // --process
  ExecFlags flags;             // command and overrides
  std::string console_socket;  // with a terminal, when detached
  bool detach = false;
  std::string pid_file;
  int64_t preserve_fds = 0;
  bool ignore_paused = false;
};

struct ExecStarted {
  pid_t pid = 0;     // as the host sees it
  UniqueFd pidfd;    // of the process
  UniqueFd console;  // pty master, when the caller bridges the terminal
};

// Returns once the process has been executed; errors (one clear line) if
// anything before its execve failed. Nothing is left behind on error.
absl::StatusOr<ExecStarted> StartExec(const ExecOptions& o);

}  // namespace berth::container
