#include "supervisor/daemon/attachment.h"

#include <string>

namespace berth::supervisor {

void Attachment::Push(v1::AttachResponse r, size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || cancelled_) return;
    if (bytes > 0 && buffered_ + bytes > kMaxBufferedBytes) return;  // this client is too slow
    buffered_ += bytes;
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

void Attachment::Output(bool is_stderr, absl::string_view data) {
  v1::AttachResponse r;
  if (is_stderr) {
    r.set_stderr(std::string(data));
  } else {
    r.set_stdout(std::string(data));
  }
  Push(std::move(r), data.size());
}

void Attachment::Ack() { Push(v1::AttachResponse(), 0); }

void Attachment::Exited(uint32_t exit_status) {
  v1::AttachResponse r;
  r.set_exited(true);
  r.set_exit_status(exit_status);
  Push(std::move(r), 0);
  Close();
}

void Attachment::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

void Attachment::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool Attachment::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

std::optional<v1::AttachResponse> Attachment::Next(absl::Duration timeout, bool* finished) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
               [this] { return !queue_.empty() || finished_ || cancelled_; });
  if (!queue_.empty()) {
    v1::AttachResponse r = std::move(queue_.front());
    queue_.pop_front();
    buffered_ -= r.stdout().size() + r.stderr().size();
    *finished = false;
    return r;
  }
  *finished = finished_ || cancelled_;
  return std::nullopt;
}

}  // namespace berth::supervisor
