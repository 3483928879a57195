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
#include "lib/fd_passing.h"

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
  return Annotate(SendWithFd(sock, name, fd), "send terminal over console socket");
}

absl::StatusOr<UniqueFd> ReceiveFd(int sock) {
  auto got = ReceiveWithFd(sock, 256);
  if (!got.ok()) return Annotate(got.status(), "receive terminal");
  if (!got->fd) return absl::InternalError("receive terminal: no file descriptor in message");
  return std::move(got->fd);
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

absl::StatusOr<ConsoleChannel> OpenConsoleChannel(const std::string& console_socket) {
  ConsoleChannel c;
  if (!console_socket.empty()) {
    BERTH_ASSIGN_OR_RETURN(c.child, ConnectUnix(console_socket));
    return c;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return ErrnoError("socketpair");
  c.ours.reset(sv[0]);
  c.child.reset(sv[1]);
  return c;
}

absl::Status SetWindowSize(int fd, unsigned rows, unsigned cols) {
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (::ioctl(fd, TIOCSWINSZ, &ws) != 0) return ErrnoError("set terminal size");
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
