#include "shim/pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/log.h"

namespace berth::shim {
namespace {
constexpr size_t kChunk = 64 * 1024;
}

Pump::Pump(EventLoop* loop, int src, int dst, WhenFull when_full, std::function<void()> on_done)
    : loop_(loop), src_(src), dst_(dst), when_full_(when_full), on_done_(std::move(on_done)) {}

Pump::~Pump() { Stop(); }

void Pump::Start() {
  fcntl(src_, F_SETFL, fcntl(src_, F_GETFL) | O_NONBLOCK);
  fcntl(dst_, F_SETFL, fcntl(dst_, F_GETFL) | O_NONBLOCK);
  Update();
}

void Pump::Stop() {
  if (watching_src_) loop_->Remove(src_);
  if (watching_dst_) loop_->Remove(dst_);
  watching_src_ = watching_dst_ = false;
  done_ = true;
}

void Pump::Drain() {
  if (done_) return;
  OnReadable();
}

bool Pump::SpliceAll() {
  for (;;) {
    ssize_t n = splice(src_, nullptr, dst_, nullptr, kChunk, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n > 0) continue;
    if (n == 0) {
      src_eof_ = true;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;  // src empty, or dst full: read() tells which
    if (errno == EPIPE) {
      dst_broken_ = true;
      return false;
    }
    use_splice_ = false;  // EINVAL: neither end a pipe, or a file that cannot splice
    return false;
  }
}

void Pump::ReadIntoBuffer() {
  for (;;) {
    size_t pending = buffer_.size() - offset_;
    size_t room = when_full_ == WhenFull::kWait ? (pending == 0 ? kChunk : 0)
                                                : kMaxBuffered - std::min(pending, kMaxBuffered);
    if (room == 0 && when_full_ == WhenFull::kWait) return;
    if (offset_ > 0 && offset_ == buffer_.size()) {
      buffer_.clear();
      offset_ = 0;
    }
    ssize_t n;
    if (room == 0 || dst_broken_) {
      char discard[4096];  // small: touched stack pages stay with the process
      n = read(src_, discard, sizeof discard);
      if (n > 0) dropped_ += static_cast<size_t>(n);
    } else {
      // Into the heap buffer, which is released once written (see WriteBuffer).
      size_t old = buffer_.size();
      buffer_.resize(old + std::min(room, kChunk));
      n = read(src_, buffer_.data() + old, buffer_.size() - old);
      buffer_.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    }
    if (n > 0) {
      if (when_full_ == WhenFull::kWait) return;  // write it before reading more
      continue;
    }
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      src_eof_ = true;  // EIO from a pty master: the terminal's last user is gone
      return;
    }
    if (errno == EAGAIN) return;
  }
}

void Pump::WriteBuffer() {
  while (offset_ < buffer_.size() && !dst_broken_) {
    ssize_t n = write(dst_, buffer_.data() + offset_, buffer_.size() - offset_);
    if (n > 0) {
      offset_ += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      dst_broken_ = true;  // EPIPE: nobody will read it any more
    }
  }
  if (dst_broken_) {
    dropped_ += buffer_.size() - offset_;
    offset_ = buffer_.size();
  }
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    buffer_.shrink_to_fit();  // a sleeping container should cost the shim nothing
    offset_ = 0;
  }
}

void Pump::OnReadable() {
  if (offset_ == buffer_.size() && use_splice_ && !dst_broken_) {
    if (SpliceAll()) {
      Finish();
      return;
    }
  }
  ReadIntoBuffer();
  WriteBuffer();
  Update();
}

void Pump::OnWritable() {
  WriteBuffer();
  Update();
}

void Pump::Update() {
  if (done_) return;
  bool pending = offset_ < buffer_.size();
  if (src_eof_ && !pending) {
    Finish();
    return;
  }
  bool want_src = !src_eof_ && !(when_full_ == WhenFull::kWait && pending);
  bool want_dst = pending;
  if (want_src != watching_src_) {
    if (want_src) {
      loop_->Add(src_, EPOLLIN, [this](uint32_t) { OnReadable(); }).IgnoreError();
    } else {
      loop_->Remove(src_);
    }
    watching_src_ = want_src;
  }
  if (want_dst != watching_dst_) {
    if (want_dst) {
      loop_->Add(dst_, EPOLLOUT, [this](uint32_t) { OnWritable(); }).IgnoreError();
    } else {
      loop_->Remove(dst_);
    }
    watching_dst_ = want_dst;
  }
}

void Pump::Finish() {
  if (done_) return;
  Stop();
  if (dropped_ > 0) {
    log::Warn(absl::StrCat("dropped ", dropped_, " bytes of output nobody read"));
  }
  if (on_done_) on_done_();
}

}  // namespace berth::shim
