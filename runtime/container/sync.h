// The parent↔init handshake over a SOCK_SEQPACKET socketpair: the parent
// says "go" once the child sits in its cgroup; the child answers "ready"
// (set up, about to block on the exec fifo) or "error" with a message for
// the user; the parent says "commit" once state.json and the pid file are
// written. A child that reads EOF instead (its parent died) exits, so a
// parent killed half-way never leaves an orphaned init behind.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"

namespace berth::container {

enum class SyncType : uint32_t {
  kGo = 1,         // parent → init; text (create only): the init's pid as the host sees it
  kReady = 2,      // init → parent
  kError = 3,      // init → parent; text: the message
  kCommit = 4,     // parent → init
  kRunHooks = 5,   // init → parent: run prestart/createRuntime hooks now
  kHooksDone = 6,  // parent → init
  kSeccompFd = 7,  // init → parent: carries the seccomp notify fd (SCM_RIGHTS)
};

struct SyncMessage {
  SyncType type;
  std::string text;  // kError: the message; else empty
  UniqueFd fd;       // kSeccompFd: the fd that came with the message
};

absl::Status SendSync(int fd, SyncType type, absl::string_view text = "");
// Sends `type` with `passed_fd` attached (SCM_RIGHTS).
absl::Status SendSyncFd(int fd, SyncType type, int passed_fd);
// An EOF (the peer died, or for `exec`, executed its process: the socket
// is close-on-exec) is reported as an Aborted status.
absl::StatusOr<SyncMessage> ReceiveSync(int fd);

}  // namespace berth::container
