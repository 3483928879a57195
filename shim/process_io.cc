#include "shim/process_io.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/fd_passing.h"

namespace berth::shim {
namespace {

absl::Status MakePipe(UniqueFd* read_end, UniqueFd* write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("create a stdio pipe");
  read_end->reset(p[0]);
  write_end->reset(p[1]);
  return absl::OkStatus();
}

// The client's end of an output stream: a FIFO (opened read-write, so the
// open never waits for a reader and a reader that goes away never makes the
// container's writes fail), or file://PATH appended to.
absl::StatusOr<UniqueFd> OpenOutput(const std::string& uri) {
  absl::string_view path = uri;
  if (absl::ConsumePrefix(&path, "file://")) {
    int fd = open(std::string(path).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return ErrnoError(absl::StrCat("open stdio file ", path));
    return UniqueFd(fd);
  }
  if (absl::StartsWith(path, "binary://")) {
    return absl::UnimplementedError(
        absl::StrCat("stdio ", uri, ": binary:// logging is not supported by berth-shim"));
  }
  absl::ConsumePrefix(&path, "fifo://");
  int fd = open(std::string(path).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("open stdio fifo ", path));
  return UniqueFd(fd);
}

// The client's stdin FIFO, read-only so its writer closing is end of file.
absl::StatusOr<UniqueFd> OpenInput(const std::string& uri) {
  absl::string_view path = uri;
  absl::ConsumePrefix(&path, "fifo://");
  int fd = open(std::string(path).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrnoError(absl::StrCat("open stdin fifo ", path));
  return UniqueFd(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessIo>> ProcessIo::Open(EventLoop* loop, const StdioPaths& paths,
                                                           uid_t io_uid, gid_t io_gid,
                                                           bool hold_stdin) {
  std::unique_ptr<ProcessIo> io(new ProcessIo(loop));
  io->terminal_ = paths.terminal;
  if (!paths.in.empty()) {
    BERTH_ASSIGN_OR_RETURN(io->client_in_, OpenInput(paths.in));
    if (hold_stdin) {
      std::string path(absl::StripPrefix(paths.in, "fifo://"));
      io->client_in_hold_.reset(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      if (!io->client_in_hold_) return ErrnoError(absl::StrCat("hold stdin fifo ", path));
    }
  }
  if (!paths.out.empty()) {
    BERTH_ASSIGN_OR_RETURN(io->client_out_, OpenOutput(paths.out));
  }
  if (!paths.err.empty() && !paths.terminal) {
    if (paths.err == paths.out) {
      io->client_err_.reset(fcntl(io->client_out_.get(), F_DUPFD_CLOEXEC, 0));
    } else {
      BERTH_ASSIGN_OR_RETURN(io->client_err_, OpenOutput(paths.err));
    }
  }
  if (paths.terminal) return io;

  if (io->client_in_) BERTH_RETURN_IF_ERROR(MakePipe(&io->in_child_, &io->in_shim_));
  if (io->client_out_) BERTH_RETURN_IF_ERROR(MakePipe(&io->out_shim_, &io->out_child_));
  if (io->client_err_) BERTH_RETURN_IF_ERROR(MakePipe(&io->err_shim_, &io->err_child_));
  if (io_uid != 0 || io_gid != 0) {
    for (const UniqueFd* fd : {&io->in_child_, &io->out_child_, &io->err_child_}) {
      if (*fd && fchown(fd->get(), io_uid, io_gid) != 0) {
        return ErrnoError("give the stdio pipes to the io user");
      }
    }
  }
  return io;
}

ProcessIo::~ProcessIo() {
  if (stdin_timer_ != 0) loop_->Cancel(stdin_timer_);
  if (output_timer_ != 0) loop_->Cancel(output_timer_);
  in_pump_.reset();
  out_pump_.reset();
  err_pump_.reset();
}

CommandStdio ProcessIo::ChildStdio() const {
  return {in_child_.get(), out_child_.get(), err_child_.get()};
}

void ProcessIo::StartCopying() {
  in_child_.reset();
  out_child_.reset();
  err_child_.reset();
  if (terminal_) return;  // AttachConsole starts the copying
  if (in_shim_) {
    in_pump_ = std::make_unique<Pump>(loop_, client_in_.get(), in_shim_.get(),
                                      Pump::WhenFull::kWait, [this] { StdinFinished(); });
    in_pump_->Start();
  }
  if (out_shim_) {
    ++outputs_open_;
    out_pump_ = std::make_unique<Pump>(loop_, out_shim_.get(), client_out_.get(),
                                       Pump::WhenFull::kDrop, [this] { OutputFinished(); });
    out_pump_->Start();
  }
  if (err_shim_) {
    ++outputs_open_;
    err_pump_ = std::make_unique<Pump>(loop_, err_shim_.get(), client_err_.get(),
                                       Pump::WhenFull::kDrop, [this] { OutputFinished(); });
    err_pump_->Start();
  }
}

absl::Status ProcessIo::AttachConsole(UniqueFd master) {
  console_ = std::move(master);
  if (client_in_) {
    console_in_.reset(fcntl(console_.get(), F_DUPFD_CLOEXEC, 0));
    if (!console_in_) return ErrnoError("dup the pty master");
    in_pump_ = std::make_unique<Pump>(loop_, client_in_.get(), console_in_.get(),
                                      Pump::WhenFull::kWait, [this] { StdinFinished(); });
    in_pump_->Start();
  }
  if (client_out_) {
    ++outputs_open_;
    out_pump_ = std::make_unique<Pump>(loop_, console_.get(), client_out_.get(),
                                       Pump::WhenFull::kDrop, [this] { OutputFinished(); });
    out_pump_->Start();
  }
  return absl::OkStatus();
}

absl::Status ProcessIo::Resize(unsigned width, unsigned height) {
  if (!console_) return absl::FailedPreconditionError("the process has no terminal");
  struct winsize ws = {};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (ioctl(console_.get(), TIOCSWINSZ, &ws) != 0) return ErrnoError("resize the terminal");
  return absl::OkStatus();
}

void ProcessIo::StdinFinished() {
  // Defer the destruction: this runs inside the pump's own callback.
  if (stdin_timer_ != 0) return;
  stdin_timer_ = loop_->After(absl::ZeroDuration(), [this] {
    stdin_timer_ = 0;
    in_pump_.reset();
    client_in_.reset();
    client_in_hold_.reset();
    in_shim_.reset();  // the process reads end of file
    console_in_.reset();
  });
}

void ProcessIo::CloseStdin() {
  stdin_close_requested_ = true;
  if (client_in_hold_) {
    // Our own writer was what kept the FIFO open (the client closed its end
    // before asking): without it the pump reads to end of file, passing on
    // everything still in the FIFO, then the process's stdin is closed.
    client_in_hold_.reset();
    if (in_pump_ && !in_pump_->done()) return;
  }
  if (in_pump_ && !in_pump_->done()) {
    in_pump_->Drain();
    in_pump_->Stop();
  }
  StdinFinished();
}

void ProcessIo::OutputFinished() {
  if (--outputs_open_ > 0) return;
  output_timer_ = loop_->After(absl::ZeroDuration(), [this] {
    output_timer_ = 0;
    // Closing our FIFO ends lets the client's reader see end of file.
    out_pump_.reset();
    err_pump_.reset();
    client_out_.reset();
    client_err_.reset();
    out_shim_.reset();
    err_shim_.reset();
    if (output_done_) std::exchange(output_done_, nullptr)();
  });
}

void ProcessIo::Drain() {
  if (out_pump_) out_pump_->Drain();
  if (err_pump_) err_pump_->Drain();
}

bool ProcessIo::output_done() const { return outputs_open_ == 0; }

void ProcessIo::OnOutputDone(std::function<void()> done) {
  if (output_done() && !out_pump_ && !err_pump_) {
    done();
  } else {
    output_done_ = std::move(done);
  }
}

absl::StatusOr<ConsoleSocket> ConsoleSocket::Create() {
  ConsoleSocket s;
  char dir[] = "/tmp/berth-pty-XXXXXX";
  if (mkdtemp(dir) == nullptr) return ErrnoError("create the console socket directory");
  s.dir_ = dir;
  s.path_ = absl::StrCat(dir, "/pty.sock");
  s.listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.listener_) return ErrnoError("create the console socket");
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, s.path_.c_str(), s.path_.size() + 1);
  if (bind(s.listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(s.listener_.get(), 1) != 0) {
    return ErrnoError(absl::StrCat("listen on ", s.path_));
  }
  return s;
}

ConsoleSocket::~ConsoleSocket() {
  if (path_.empty()) return;
  unlink(path_.c_str());
  rmdir(dir_.c_str());
}

absl::StatusOr<UniqueFd> ConsoleSocket::Receive() {
  // The runtime has exited by now: its connection is waiting in the backlog.
  struct pollfd p = {listener_.get(), POLLIN, 0};
  if (poll(&p, 1, 0) != 1) {
    return absl::FailedPreconditionError(
        "the runtime did not send a terminal to the console socket");
  }
  UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return ErrnoError("accept on the console socket");
  BERTH_ASSIGN_OR_RETURN(ReceivedMessage msg, ReceiveWithFd(conn.get(), 4096));
  if (!msg.fd) return absl::FailedPreconditionError("the runtime sent no terminal fd");
  return std::move(msg.fd);
}

}  // namespace berth::shim
