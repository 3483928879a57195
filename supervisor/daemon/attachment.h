// One client's Attach stream as the engine sees it: a thread-safe, bounded
// queue of output from the engine's thread to the gRPC thread that writes
// the stream. The engine never waits on it: output past the bound is
// dropped for this client only (a slow client never slows the container).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "absl/time/time.h"
#include "berth/v1/tasks.pb.h"

namespace berth::supervisor {

class Attachment {
 public:
  static constexpr size_t kMaxBufferedBytes = 4 << 20;

  // Engine side.
  void Output(bool is_stderr, absl::string_view data);
  void Ack();                         // "attached": the first message
  void Exited(uint32_t exit_status);  // the last message
  void Close();                       // the process is gone without an exit to report

  // Stream side: the next message, nullopt after `timeout` or when finished
  // (then *finished is true and nothing more will come).
  std::optional<v1::AttachResponse> Next(absl::Duration timeout, bool* finished);
  // The client went away: the engine drops it at its next output.
  void Cancel();
  bool cancelled() const;

 private:
  void Push(v1::AttachResponse r, size_t bytes);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::AttachResponse> queue_;
  size_t buffered_ = 0;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace berth::supervisor
