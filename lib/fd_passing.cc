#include "lib/fd_passing.h"

#include <sys/socket.h>

#include <cstring>

#include "lib/errors.h"

namespace berth {

absl::Status SendWithFd(int sock, absl::string_view payload, int fd) {
  char empty = '\0';  // SCM_RIGHTS needs at least one byte of payload
  struct iovec iov = {payload.empty() ? &empty : const_cast<char*>(payload.data()),
                      payload.empty() ? 1 : payload.size()};
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
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t n;
  while ((n = ::sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0) {
    if (errno != EINTR) return ErrnoError("send file descriptor");
  }
  for (size_t sent = static_cast<size_t>(n); sent < payload.size();) {
    n = ::send(sock, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("send message");
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<ReceivedMessage> ReceiveWithFd(int sock, size_t max_payload) {
  ReceivedMessage out;
  out.payload.resize(max_payload);
  struct iovec iov = {out.payload.data(), out.payload.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return ErrnoError("receive message");
  }
  out.payload.resize(static_cast<size_t>(n));
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg != nullptr && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
    int received;
    std::memcpy(&received, CMSG_DATA(cmsg), sizeof received);
    out.fd.reset(received);
  }
  return out;
}

}  // namespace berth
