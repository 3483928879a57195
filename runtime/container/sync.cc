#include "runtime/container/sync.h"

#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/fd_passing.h"

namespace berth::container {
namespace {
constexpr size_t kMaxMessage = 4096;
}

absl::Status SendSync(int fd, SyncType type, absl::string_view text) {
  char buf[kMaxMessage];
  uint32_t t = static_cast<uint32_t>(type);
  std::memcpy(buf, &t, sizeof t);
  size_t n = std::min(text.size(), kMaxMessage - sizeof t);
  std::memcpy(buf + sizeof t, text.data(), n);
  while (::send(fd, buf, sizeof t + n, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return ErrnoError("sync with container init");
  }
  return absl::OkStatus();
}

absl::Status SendSyncFd(int fd, SyncType type, int passed_fd) {
  uint32_t t = static_cast<uint32_t>(type);
  return Annotate(
      SendWithFd(fd, absl::string_view(reinterpret_cast<const char*>(&t), sizeof t), passed_fd),
      "sync with container init");
}

absl::StatusOr<SyncMessage> ReceiveSync(int fd) {
  // Room for one passed fd (kSeccompFd), received close-on-exec.
  auto got = ReceiveWithFd(fd, kMaxMessage);
  if (!got.ok()) return Annotate(got.status(), "sync with container init");
  if (got->payload.empty()) return absl::AbortedError("peer exited during container setup");
  if (got->payload.size() < sizeof(uint32_t)) {
    return absl::InternalError("sync with container init: truncated message");
  }
  uint32_t t;
  std::memcpy(&t, got->payload.data(), sizeof t);
  return SyncMessage{static_cast<SyncType>(t), got->payload.substr(sizeof t), std::move(got->fd)};
}

}  // namespace berth::container
