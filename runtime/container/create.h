// `berth create` (and the first half of `berth run`): from a bundle to a
// container whose init is set up and blocked on the exec fifo.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"
#include "runtime/spec/spec.h"
#include "runtime/state/state_dir.h"

namespace berth::container {

struct CreateOptions {
  std::string root;
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int64_t preserve_fds = 0;
  // `run` in the foreground with a terminal and no --console-socket: the pty
  // master comes back to the caller instead (CreatedContainer::console).
  bool terminal_to_caller = false;
  bool systemd_cgroup = false;  // --systemd-cgroup
};

struct CreatedContainer {
  state::StateDir dir;
  state::ContainerState state;
  UniqueFd pidfd;    // of the init
  UniqueFd fifo;     // exec fifo (O_RDWR): writing one byte starts the process
  UniqueFd console;  // pty master when terminal_to_caller
  bool terminal = false;
};

// Loads and checks a config.json; every error names the field or path.
// `text_out`, if given, receives the file's text.
absl::StatusOr<spec::Spec> LoadSpecFile(const std::string& path, std::string* text_out = nullptr);

// On error nothing is left behind: no state directory, cgroup, process, fd.
absl::StatusOr<CreatedContainer> Create(const CreateOptions& options);

}  // namespace berth::container
