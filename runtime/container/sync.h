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

namespace berth::container {

enum class SyncType : uint32_t { kGo = 1, kReady = 2, kError = 3, kCommit = 4 };

struct SyncMessage {
  SyncType type;
  std::string text;  // kError: the message; else empty
};

absl::Status SendSync(int fd, SyncType type, absl::string_view text = "");
// An EOF (the peer died) is reported as an Aborted status.
absl::StatusOr<SyncMessage> ReceiveSync(int fd);

}  // namespace berth::container
