// Runs the OCI runtime binary (berth by default; runc and crun work too) with
// runc's command line, the way containerd's go-runc does: --root, --log with
// --log-format json, and the last error line of that log as the message of
// a failure.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::shim {

// The fds a runtime command gets as 0, 1, 2 (-1: /dev/null).
struct CommandStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

class RuntimeClient {
 public:
  RuntimeClient(std::string binary, std::string root, std::string log_path, bool systemd_cgroup)
      : binary_(std::move(binary)),
        root_(std::move(root)),
        log_path_(std::move(log_path)),
        systemd_cgroup_(systemd_cgroup) {}

  absl::Status Create(absl::string_view id, absl::string_view bundle, absl::string_view pid_file,
                      absl::string_view console_socket, bool no_pivot, bool no_new_keyring,
                      const CommandStdio& stdio);
  absl::Status Start(absl::string_view id);
  absl::Status Exec(absl::string_view id, absl::string_view process_file,
                    absl::string_view pid_file, absl::string_view console_socket,
                    const CommandStdio& stdio);
  absl::Status Kill(absl::string_view id, int signal, bool all);
  absl::Status Delete(absl::string_view id, bool force);
  absl::Status Pause(absl::string_view id);
  absl::Status Resume(absl::string_view id);
  absl::Status Update(absl::string_view id, absl::string_view resources_file);
  absl::StatusOr<std::vector<pid_t>> Ps(absl::string_view id);
  // `events --stats ID`: one JSON object in runc's format.
  absl::StatusOr<std::string> Stats(absl::string_view id);

  const std::string& binary() const { return binary_; }

 private:
  // Runs `binary --root R --log L --log-format json [--systemd-cgroup] args`,
  // waits for it; its stdout is returned when `capture` is set.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& args, const CommandStdio& stdio,
                                  bool capture);
  std::string LastLoggedError() const;

  std::string binary_;
  std::string root_;
  std::string log_path_;
  bool systemd_cgroup_;
};

// The runtime binary to use: `name` if it has a slash, else the file of that
// name beside the shim's own executable, else the first one on PATH.
std::string FindRuntimeBinary(const std::string& name);

}  // namespace berth::shim
