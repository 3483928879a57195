// Fan-out of events to live subscribers. An event reaches the hub only after
// it is committed to the persisted log, so a subscriber can always fall back
// to reading the log: each has a bounded queue, and when it overflows the
// subscriber is told to catch up from the log (nothing is lost, and a slow
// subscriber costs at most kMaxQueued events of memory).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {

class Subscription {
 public:
  static constexpr size_t kMaxQueued = 1024;

  // Engine side.
  void Push(const EventRecord& e);
  void Close();

  // Stream side. The next live event; nullopt on timeout or when closed
  // (*closed set). *overflowed is set (once) when events were dropped from
  // the queue: read the log from the last seq seen before going on.
  std::optional<EventRecord> Next(absl::Duration timeout, bool* overflowed, bool* closed);
  void Cancel();
  bool cancelled() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EventRecord> queue_;
  bool overflowed_ = false;
  bool closed_ = false;
  bool cancelled_ = false;
};

// Engine thread only.
class EventHub {
 public:
  std::shared_ptr<Subscription> Subscribe();
  void Publish(const EventRecord& e);
  void CloseAll();
  size_t subscribers() const { return subscriptions_.size(); }

 private:
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
};

}  // namespace berth::supervisor
