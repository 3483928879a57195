#include "runtime/container/sync.h"

#include <sys/socket.h>

#include <cstring>
#include <utility>

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

absl::Status SendSyncFd(int fd, SyncType type, int passed_fd) {
  uint32_t t = static_cast<uint32_t>(type);
  struct iovec iov = {&t, sizeof t};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof passed_fd);
  while (::sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return ErrnoError("sync with container init");
  }
  return absl::OkStatus();
}

absl::StatusOr<SyncMessage> ReceiveSync(int fd) {
  char buf[kMaxMessage];
  struct iovec iov = {buf, sizeof buf};
  // Room for one passed fd (kSeccompFd); MSG_CMSG_CLOEXEC keeps it ours.
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return ErrnoError("sync with container init");
  }
  UniqueFd passed;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg != nullptr && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
    int received;
    std::memcpy(&received, CMSG_DATA(cmsg), sizeof received);
    passed.reset(received);
  }
  if (n < static_cast<ssize_t>(sizeof(uint32_t))) {
    return absl::AbortedError("peer exited during container setup");
  }
  uint32_t t;
  std::memcpy(&t, buf, sizeof t);
  return SyncMessage{static_cast<SyncType>(t),
                     std::string(buf + sizeof t, static_cast<size_t>(n) - sizeof t),
                     std::move(passed)};
}

}  // namespace berth::container
