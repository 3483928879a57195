// Publishes task events to containerd the way containerd 1.6's shims do:
// Forward on the "containerd.services.events.ttrpc.v1.Events" service at
// $TTRPC_ADDRESS. Events queue while containerd is away (restarting) and are
// retried, in order, a few times before being dropped.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "containerd_events.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/client.h"

namespace berth::shim {

class Publisher {
 public:
  // An empty address publishes nothing (a shim driven without containerd).
  Publisher(EventLoop* loop, std::string address, std::string ns)
      : loop_(loop), address_(std::move(address)), namespace_(std::move(ns)) {}

  // topic: "/tasks/exit"...; the event's type URL is its message name
  // ("containerd.events.TaskExit"), as containerd's typeurl registry has it.
  void Publish(absl::string_view topic, const google::protobuf::MessageLite& event);
  bool idle() const { return queue_.empty(); }

 private:
  struct Pending {
    containerd::events::ForwardRequest request;
    int attempts = 0;
  };
  void SendNext();
  void RetryLater();

  EventLoop* loop_;
  std::string address_;
  std::string namespace_;
  std::unique_ptr<ttrpc::Client> client_;
  std::deque<Pending> queue_;
  bool in_flight_ = false;
  bool retry_scheduled_ = false;
};

}  // namespace berth::shim
