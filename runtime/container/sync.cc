#include "runtime/container/sync.h"

#include <sys/socket.h>

#include <cstring>

#include "absl/strings/string_view.h"
#include "lib/errors.h"

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

absl::StatusOr<SyncMessage> ReceiveSync(int fd) {
  char buf[kMaxMessage];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) < 0) {
    if (errno != EINTR) return ErrnoError("sync with container init");
  }
  if (n < static_cast<ssize_t>(sizeof(uint32_t))) {
    return absl::AbortedError("peer exited during container setup");
  }
  uint32_t t;
  std::memcpy(&t, buf, sizeof t);
  return SyncMessage{static_cast<SyncType>(t),
                     std::string(buf + sizeof t, static_cast<size_t>(n) - sizeof t)};
}

}  // namespace berth::container
