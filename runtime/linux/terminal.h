// Pseudo-terminals for `process.terminal`: the pty is opened inside the
// container (its devpts), the master goes to the caller over the
// --console-socket (one message: the pty name and one fd via SCM_RIGHTS).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"

namespace berth::linux_ns {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_name;
};

// Opens /dev/ptmx (after pivot_root) and its peer.
absl::StatusOr<Pty> OpenPty();

// Makes the slave the controlling terminal and stdin/out/err of the caller.
absl::Status AttachToTerminal(int slave);

// Sends fd with `name` as payload over a connected unix socket.
absl::Status SendFd(int sock, int fd, const std::string& name);
// Receives one fd sent by SendFd.
absl::StatusOr<UniqueFd> ReceiveFd(int sock);

// Connects to the caller's --console-socket.
absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path);

absl::Status SetWindowSize(int fd, unsigned rows, unsigned cols);

// Where a container process sends its pty master: the caller's
// --console-socket (connected), or, when berth bridges the terminal itself,
// a socketpair whose other end berth keeps.
struct ConsoleChannel {
  UniqueFd ours;   // berth's end (socketpair only)
  UniqueFd child;  // the end the container process sends on
};
absl::StatusOr<ConsoleChannel> OpenConsoleChannel(const std::string& console_socket);

}  // namespace berth::linux_ns
