// Runs a program: posix_spawn with an explicit fd map (everything above the
// highest mapped fd is closed too, whatever its close-on-exec flag), signals reset to their
// defaults and an empty mask (callers block SIGCHLD for signalfd, ignore SIGPIPE), optionally its
// own session, a working directory and an environment; stdout and stderr
// captured on request; waited for with EINTR handled.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

struct SpawnOptions {
  // Child fd -> parent fd (dup2'ed; -1 means /dev/null). 0, 1, 2 default to
  // /dev/null unless mapped here or captured.
  std::map<int, int> fds;
  bool new_session = false;
  std::string path;  // the program to execute; empty: argv[0] (looked up on PATH)
  std::string cwd;   // empty: the caller's
  std::optional<std::vector<std::string>> env;  // unset: the caller's environment
  std::string stdin_data;                       // written to its stdin (then closed) when set
  bool capture_stdout = false;
  bool capture_stderr = false;
};

struct SpawnResult {
  int wait_status = 0;
  std::string out;
  std::string err;
  bool success() const;
  // "exit status 2" or "killed by signal 9".
  std::string Describe() const;
};

// Starts argv (argv[0] is a path, or a name looked up on PATH) without waiting.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// Starts argv and waits for it, feeding stdin_data and capturing as asked.
// The status is OK whenever it ran; look at the result for its exit.
absl::StatusOr<SpawnResult> RunProcess(const std::vector<std::string>& argv,
                                       const SpawnOptions& options);

// waitpid(pid) with EINTR retried; the wait status.
absl::StatusOr<int> WaitProcess(pid_t pid);

// write(2) that reports EPIPE instead of raising SIGPIPE, for programs that
// keep SIGPIPE's default disposition (the runtime: its children inherit it).
ssize_t WriteNoSigpipe(int fd, const void* data, size_t size);

// Reads fd until end of file (EINTR retried).
std::string ReadToEnd(int fd);

}  // namespace berth
