// Publishes task events the way containerd 1.6's shims do: Forward on the
// "containerd.services.events.ttrpc.v1.Events" service at $TTRPC_ADDRESS.
// An event is kept until its Forward is acknowledged: while the receiver is
// away (containerd or berthd restarting, or down for minutes) events queue
// and are retried in order with a capped back-off, never dropped after a
// number of tries. The queue is bounded: past kMaxQueued, the oldest event
// that is not an exit is dropped (exits are what callers wait for; the rest
// a supervisor can rebuild from the shim's State).
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "containerd_events.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/client.h"

namespace berth::shim {

class Publisher {
 public:
  static constexpr size_t kMaxQueued = 4096;

  // An empty address publishes nothing (a shim driven without containerd).
  Publisher(EventLoop* loop, std::string address, std::string ns)
      : loop_(loop), address_(std::move(address)), namespace_(std::move(ns)) {}

  // topic: "/tasks/exit"...; the event's type URL is its message name
  // ("containerd.events.TaskExit"), as containerd's typeurl registry has it.
  void Publish(absl::string_view topic, const google::protobuf::MessageLite& event);
  bool idle() const { return queue_.empty(); }
  size_t queued() const { return queue_.size(); }

 private:
  void SendNext();
  void RetryLater();
  void MakeRoom();

  EventLoop* loop_;
  std::string address_;
  std::string namespace_;
  std::unique_ptr<ttrpc::Client> client_;
  std::deque<containerd::events::ForwardRequest> queue_;
  bool in_flight_ = false;
  bool retry_scheduled_ = false;
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace berth::shim
