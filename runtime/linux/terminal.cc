#include "runtime/linux/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::linux_ns {

absl::StatusOr<Pty> OpenPty() {
  Pty pty;
  pty.master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) return ErrnoError("open /dev/ptmx");
  if (::unlockpt(pty.master.get()) != 0) return ErrnoError("unlockpt");
  // TIOCGPTPEER opens the peer through the master, not by a name an image
  // could have replaced.
  pty.slave.reset(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) return ErrnoError("open pty peer");
  char name[64];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) return ErrnoError("ptsname");
  pty.slave_name = name;
  return pty;
}

absl::Status AttachToTerminal(int slave) {
  if (::setsid() < 0 && errno != EPERM) return ErrnoError("setsid");
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) return ErrnoError("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup3(slave, fd, 0) < 0) return ErrnoError("dup terminal to stdio");
  }
  return absl::OkStatus();
}

absl::Status SendFd(int sock, int fd, const std::string& name) {
  struct msghdr msg = {};
  struct iovec iov = {const_cast<char*>(name.data()), name.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return ErrnoError("send terminal over console socket");
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReceiveFd(int sock) {
  char name[256];
  struct msghdr msg = {};
  struct iovec iov = {name, sizeof name};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno != EINTR) return ErrnoError("receive terminal");
  }
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (n == 0 || cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) {
    return absl::InternalError("receive terminal: no file descriptor in message");
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("console socket path too long: ", path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return ErrnoError("socket");
  if (::connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(absl::StrCat("connect to console socket ", path));
  }
  return sock;
}

absl::Status SetWindowSize(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(fd, TIOCSWINSZ, &ws) != 0) return ErrnoError("set terminal size");
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
