#include "runtime/container/foreground.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <optional>

#include "lib/errors.h"
#include "runtime/container/lifecycle.h"

namespace berth::container {
namespace {

// Puts our terminal in raw mode while the container owns it.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ = {};
  bool active_ = false;
};

void CopyWindowSize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Copies what is readable from `in` to `out`; false on EOF/error.
bool Pump(int in, int out) {
  char buf[16384];
  ssize_t n = ::read(in, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(out, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

int ExitCode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 255;
}

}  // namespace

sigset_t ForwardedSignals() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT})
    sigdelset(&set, s);
  return set;
}

absl::StatusOr<int> StartAndWait(CreatedContainer& c) {
  c.fifo.reset();  // as a writer, it would keep ReleaseInit waiting
  BERTH_RETURN_IF_ERROR(ReleaseInit(c.dir));
  RunPoststartHooks(c.dir, c.state);
  return WaitForeground(c.state.pid, c.pidfd.get(), c.console.get());
}

absl::StatusOr<int> WaitForeground(pid_t pid, int pidfd, int master) {
  sigset_t set = ForwardedSignals();
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!sfd) return ErrnoError("signalfd");
  std::optional<RawTerminal> raw;
  if (master >= 0 && ::isatty(STDIN_FILENO)) {
    CopyWindowSize(STDIN_FILENO, master);
    raw.emplace(STDIN_FILENO);
  }
  bool stdin_open = master >= 0;
  std::optional<int> status;
  while (!status) {
    struct pollfd fds[3] = {
        {sfd.get(), POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}, {master, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll");
    }
    if (fds[2].revents & (POLLIN | POLLHUP)) Pump(master, STDOUT_FILENO);
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      if (!Pump(STDIN_FILENO, master)) stdin_open = false;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) != sizeof si) continue;
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        int ws;
        pid_t r;
        while ((r = ::waitpid(-1, &ws, WNOHANG)) > 0) {
          if (r == pid) status = ExitCode(ws);
        }
      } else if (sig == SIGWINCH && master >= 0) {
        CopyWindowSize(STDIN_FILENO, master);
      } else {
        ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
      }
    }
  }
  // Drain what the process wrote before it exited.
  if (master >= 0) {
    int flags = ::fcntl(master, F_GETFL);
    ::fcntl(master, F_SETFL, flags | O_NONBLOCK);
    while (Pump(master, STDOUT_FILENO)) {
      struct pollfd p = {master, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    }
  }
  return *status;
}

}  // namespace berth::container
