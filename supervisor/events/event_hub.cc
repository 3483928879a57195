#include "supervisor/events/event_hub.h"

#include <algorithm>

namespace berth::supervisor {

void Subscription::Push(const EventRecord& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || cancelled_) return;
    if (queue_.size() >= kMaxQueued) {
      // The stream reads the log from its last seq instead; what is queued
      // would be read again, so drop it too.
      queue_.clear();
      overflowed_ = true;
    } else if (!overflowed_) {
      queue_.push_back(e);
    }
  }
  cv_.notify_one();
}

void Subscription::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void Subscription::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

bool Subscription::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

std::optional<EventRecord> Subscription::Next(absl::Duration timeout, bool* overflowed,
                                              bool* closed) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
               [this] { return !queue_.empty() || overflowed_ || closed_ || cancelled_; });
  *overflowed = overflowed_;
  overflowed_ = false;
  *closed = closed_ || cancelled_;
  if (*overflowed || queue_.empty()) return std::nullopt;
  EventRecord e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

std::shared_ptr<Subscription> EventHub::Subscribe() {
  auto s = std::make_shared<Subscription>();
  subscriptions_.push_back(s);
  return s;
}

void EventHub::Publish(const EventRecord& e) {
  std::erase_if(subscriptions_, [](const auto& s) { return s->cancelled(); });
  for (const auto& s : subscriptions_) s->Push(e);
}

void EventHub::CloseAll() {
  for (const auto& s : subscriptions_) s->Close();
  subscriptions_.clear();
}

}  // namespace berth::supervisor
