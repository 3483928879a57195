// Passing a file descriptor over a unix socket (SCM_RIGHTS): the console
// socket's pty master, the init's seccomp notify fd, the notify fd to a
// seccomp agent. One implementation for all of them.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"

namespace berth {

// Sends payload with fd attached to its first byte; on a stream socket a
// long payload may take more than one send.
absl::Status SendWithFd(int sock, absl::string_view payload, int fd);

struct ReceivedMessage {
  std::string payload;  // empty at EOF
  UniqueFd fd;          // invalid if none came (received close-on-exec)
};

// Receives one message of up to max_payload bytes and the fd sent with it.
absl::StatusOr<ReceivedMessage> ReceiveWithFd(int sock, size_t max_payload);

}  // namespace berth
