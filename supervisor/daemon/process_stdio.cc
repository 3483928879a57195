#include "supervisor/daemon/process_stdio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::supervisor {
namespace {

absl::StatusOr<UniqueFd> MakeFifo(const std::string& path, bool existing) {
  if (!existing) {
    unlink(path.c_str());
    if (mkfifo(path.c_str(), 0600) != 0) return ErrnoError(absl::StrCat("mkfifo ", path));
  }
  UniqueFd fd(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("open ", path));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessStdio>> ProcessStdio::Create(EventLoop* loop,
                                                                   const std::string& dir,
                                                                   const std::string& name,
                                                                   bool with_stdin, bool terminal,
                                                                   bool existing) {
  std::unique_ptr<ProcessStdio> io(new ProcessStdio(loop));
  std::string base = absl::StrCat(dir, "/", name);
  if (with_stdin) {
    io->fifos_.in = base + ".stdin";
    BERTH_ASSIGN_OR_RETURN(io->in_, MakeFifo(io->fifos_.in, existing));
  }
  io->fifos_.out = base + ".stdout";
  BERTH_ASSIGN_OR_RETURN(io->out_, MakeFifo(io->fifos_.out, existing));
  int out = io->out_.get();
  ProcessStdio* self = io.get();
  BERTH_RETURN_IF_ERROR(
      loop->Add(out, EPOLLIN, [self, out](uint32_t) { self->ReadOutput(out, false); }));
  if (!terminal) {
    io->fifos_.err = base + ".stderr";
    BERTH_ASSIGN_OR_RETURN(io->err_, MakeFifo(io->fifos_.err, existing));
    int err = io->err_.get();
    BERTH_RETURN_IF_ERROR(
        loop->Add(err, EPOLLIN, [self, err](uint32_t) { self->ReadOutput(err, true); }));
  }
  return io;
}

ProcessStdio::~ProcessStdio() {
  UnwatchAll();
  for (const auto& a : attached_) a->Close();
}

void ProcessStdio::UnwatchAll() {
  for (const UniqueFd* fd : {&in_, &out_, &err_}) {
    if (*fd) loop_->Remove(fd->get());
  }
  watching_in_ = false;
}

void ProcessStdio::Attach(std::shared_ptr<Attachment> a) {
  a->Ack();
  attached_.push_back(std::move(a));
}

void ProcessStdio::ReadOutput(int fd, bool is_stderr) {
  char buf[65536];
  for (int round = 0; round < 16; ++round) {  // then let others run
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: drained (we hold a writer: no end of file)
    std::erase_if(attached_, [](const auto& a) { return a->cancelled(); });
    for (const auto& a : attached_)
      a->Output(is_stderr, absl::string_view(buf, static_cast<size_t>(n)));
  }
}

absl::Status ProcessStdio::Write(std::string data) {
  if (!in_ || close_in_requested_) {
    return absl::FailedPreconditionError("the process's stdin is not open");
  }
  if (pending_in_.size() + data.size() > kMaxPendingStdin) {
    return absl::ResourceExhaustedError("stdin: the process is not reading its input");
  }
  pending_in_ += data;
  FlushStdin();
  return absl::OkStatus();
}

void ProcessStdio::FlushStdin() {
  while (!pending_in_.empty()) {
    ssize_t n = write(in_.get(), pending_in_.data(), pending_in_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) pending_in_.clear();  // nobody will ever read it
      break;
    }
    pending_in_.erase(0, static_cast<size_t>(n));
  }
  bool want = !pending_in_.empty();
  if (want && !watching_in_) {
    int fd = in_.get();
    watching_in_ = loop_->Add(fd, EPOLLOUT, [this](uint32_t) { FlushStdin(); }).ok();
  } else if (!want && watching_in_) {
    loop_->Remove(in_.get());
    watching_in_ = false;
  }
  if (!want && close_in_requested_) {
    in_.reset();
    if (flushed_) std::exchange(flushed_, nullptr)();
  }
}

void ProcessStdio::CloseStdin(std::function<void()> flushed) {
  if (close_in_requested_) return;
  close_in_requested_ = true;
  flushed_ = std::move(flushed);
  if (in_) {
    FlushStdin();
  } else if (flushed_) {
    std::exchange(flushed_, nullptr)();
  }
}

void ProcessStdio::Finish(uint32_t exit_status) {
  if (out_) ReadOutput(out_.get(), false);
  if (err_) ReadOutput(err_.get(), true);
  for (const auto& a : attached_) a->Exited(exit_status);
  attached_.clear();
}

void ProcessStdio::CloseAll() {
  for (const auto& a : attached_) a->Close();
  attached_.clear();
}

}  // namespace berth::supervisor
