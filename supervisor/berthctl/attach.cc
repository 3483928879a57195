#include "supervisor/berthctl/attach.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"

namespace berth::ctl {
namespace {

using Stream = grpc::ClientReaderWriter<v1::AttachRequest, v1::AttachResponse>;

constexpr int kProxiedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kProxiedSignals) sigaddset(&set, sig);
  sigaddset(&set, SIGWINCH);
  // A closed stdout makes writes fail (output dropped), not kill berthctl
  // with the terminal still raw.
  sigaddset(&set, SIGPIPE);
  return set;
}

// The local terminal in raw mode while it lives (keys go to the container,
// not to the line discipline); restored when it goes.
class RawTerminal {
 public:
  RawTerminal() = default;
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }
  absl::Status Enter(int fd) {
    if (::tcgetattr(fd, &saved_) != 0) return ErrnoError("reading the terminal's settings");
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) != 0) return ErrnoError("setting the terminal raw");
    fd_ = fd;
    active_ = true;
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
  bool active_ = false;
  struct termios saved_ = {};
};

// The local terminal's size, from stdout or stdin.
std::optional<std::pair<uint32_t, uint32_t>> TerminalSize() {
  struct winsize ws = {};
  for (int fd : {STDOUT_FILENO, STDIN_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
      return std::pair<uint32_t, uint32_t>(ws.ws_col, ws.ws_row);
  }
  return std::nullopt;
}

bool SendSize(Stream& stream) {
  auto size = TerminalSize();
  if (!size) return true;
  v1::AttachRequest req;
  req.set_width(size->first);
  req.set_height(size->second);
  return stream.Write(req);
}

// The one thread that writes to the stream once Start has been called:
// stdin bytes, close_stdin at its end, resizes on SIGWINCH, and the
// signals berthctl receives.
class InputPump {
 public:
  InputPump(Client& client, Stream& stream, grpc::ClientContext& ctx, const AttachOptions& o)
      : client_(client), stream_(stream), ctx_(ctx), options_(o) {}
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;
  ~InputPump() { Stop(); }

  absl::Status Start() {
    sigset_t set = HandledSignals();
    sigdelset(&set, SIGPIPE);
    signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
    if (!signal_fd_.valid()) return ErrnoError("signalfd");
    stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
    if (!stop_fd_.valid()) return ErrnoError("eventfd");
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof one);
    thread_.join();
  }

  // The signal that made berthctl detach (with a tty), 0 if none.
  int detached_by() const { return detached_by_.load(); }

 private:
  void Run() {
    struct pollfd fds[3] = {
        {stop_fd_.get(), POLLIN, 0},
        {signal_fd_.get(), POLLIN, 0},
        {options_.stdin ? STDIN_FILENO : -1, POLLIN, 0},
    };
    while (true) {
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents & POLLIN) {
        struct signalfd_siginfo si;
        if (::read(signal_fd_.get(), &si, sizeof si) == sizeof si && !HandleSignal(si.ssi_signo))
          return;
      }
      if (fds[2].revents != 0 && !CopyStdin()) fds[2].fd = -1;
    }
  }

  // False once stdin is done with (its end, or the stream refuses writes).
  bool CopyStdin() {
    char buf[32 * 1024];
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    v1::AttachRequest req;
    if (n > 0) {
      req.set_stdin(buf, static_cast<size_t>(n));
      return stream_.Write(req);
    }
    req.set_close_stdin(true);
    stream_.Write(req);
    return false;
  }

  // False when berthctl detaches.
  bool HandleSignal(uint32_t sig) {
    if (sig == SIGWINCH) {
      if (options_.tty) SendSize(stream_);
      return true;
    }
    if (options_.tty) {
      // Raw mode: ^C is a byte for the container; a signal from elsewhere
      // detaches, as docker's client (which proxies nothing with -t) would.
      detached_by_ = static_cast<int>(sig);
      ctx_.TryCancel();
      return false;
    }
    v1::KillTaskRequest req;
    req.set_container_id(options_.container_id);
    req.set_exec_id(options_.exec_id);
    req.set_signal(sig);
    if (auto resp = client_.Call(&v1::Tasks::Stub::Kill, req); !resp.ok()) {
      std::fprintf(stderr, "berthctl: forwarding signal %u: %s\n", sig,
                   std::string(resp.status().message()).c_str());
    }
    return true;
  }

  Client& client_;
  Stream& stream_;
  grpc::ClientContext& ctx_;
  const AttachOptions& options_;
  UniqueFd signal_fd_;
  UniqueFd stop_fd_;
  std::thread thread_;
  std::atomic<int> detached_by_{0};
};

void Deliver(const v1::AttachResponse& resp, bool* exited, int* exit_status) {
  // Output is dropped if the local side is gone (EPIPE): the process keeps
  // its exit status to report.
  if (!resp.stdout().empty()) (void)WriteAll(STDOUT_FILENO, resp.stdout());
  if (!resp.stderr().empty()) (void)WriteAll(STDERR_FILENO, resp.stderr());
  if (resp.exited()) {
    *exited = true;
    *exit_status = static_cast<int>(resp.exit_status() & 0xff);
  }
}

}  // namespace

void BlockAttachSignals() {
  sigset_t set = HandledSignals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<AttachResult> AttachAndStart(Client& client, const AttachOptions& options,
                                            const std::function<absl::Status()>& start) {
  grpc::ClientContext ctx;
  client.Prepare(ctx, /*deadline=*/false);
  std::unique_ptr<Stream> stream = client.tasks().Attach(&ctx);
  v1::AttachRequest first;
  first.set_container_id(options.container_id);
  first.set_exec_id(options.exec_id);
  v1::AttachResponse resp;
  if (!stream->Write(first) || !stream->Read(&resp)) {
    grpc::Status status = stream->Finish();
    if (!status.ok()) return Annotate(client.Check(status), "attach");
    return absl::UnavailableError("attach: berthd ended the stream before acknowledging it");
  }
  bool exited = false;
  int exit_status = 0;
  Deliver(resp, &exited, &exit_status);  // the acknowledgment: normally empty

  auto abort = [&](absl::Status status) {
    ctx.TryCancel();
    (void)stream->Finish();
    return status;
  };
  RawTerminal raw;
  if (options.tty && ::isatty(STDIN_FILENO)) {
    if (absl::Status s = raw.Enter(STDIN_FILENO); !s.ok()) return abort(s);
  }
  AttachResult result;
  // A container's pty exists from its Create on: it gets its size before
  // it starts (`stty size` as its first command must see it). A unary call,
  // answered once the shim has set it: a resize on the attach stream could
  // reach the shim after the Start below.
  if (options.tty && options.exec_id.empty() && !exited) {
    if (auto size = TerminalSize()) {
      v1::ResizePtyRequest req;
      req.set_container_id(options.container_id);
      req.set_width(size->first);
      req.set_height(size->second);
      if (auto r = client.Call(&v1::Tasks::Stub::ResizePty, req); !r.ok()) {
        return abort(Annotate(r.status(), "resize"));
      }
    }
  }
  if (!exited) {
    result.start = start();
    if (!result.start.ok()) {
      (void)abort(absl::OkStatus());
      return result;
    }
  }
  // Input only once the process runs: an exec's stdin and pty exist from
  // its Start on, and what came before would be dropped.
  if (options.tty) SendSize(*stream);
  InputPump pump(client, *stream, ctx, options);  // stopped before `raw` is restored
  if (absl::Status s = pump.Start(); !s.ok()) return abort(s);
  while (!exited && stream->Read(&resp)) Deliver(resp, &exited, &exit_status);
  // The exit is the server's last message; cancelling never loses output.
  ctx.TryCancel();
  pump.Stop();
  grpc::Status finished = stream->Finish();
  if (exited) {
    result.exit_status = exit_status;
    return result;
  }
  if (int sig = pump.detached_by(); sig != 0) {
    result.exit_status = 128 + sig;
    return result;
  }
  if (!finished.ok()) return Annotate(client.Check(finished), "attach");
  // The stream ended without an exit status (berthd restarting?): ask Wait.
  v1::WaitTaskRequest wait;
  wait.set_container_id(options.container_id);
  wait.set_exec_id(options.exec_id);
  auto waited = client.Call(&v1::Tasks::Stub::Wait, wait, /*deadline=*/false);
  if (!waited.ok()) return waited.status();
  result.exit_status = static_cast<int>(waited->exit_status() & 0xff);
  return result;
}

}  // namespace berth::ctl
