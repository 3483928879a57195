// berthd's end of the shims' event stream: a ttrpc server for
// containerd.services.events.ttrpc.v1.Events/Forward on its own socket
// (given to every shim as TTRPC_ADDRESS). A Forward is acknowledged only
// after the handler has taken the event (stored it or found it a
// duplicate), so a shim keeps every event berthd has not recorded.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "containerd_events.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/server.h"

namespace berth::supervisor {

class EventSink {
 public:
  // `ack` must be called (once) when the envelope is taken care of.
  using Handler =
      std::function<void(const containerd::events::Envelope& envelope, std::function<void()> ack)>;

  static absl::StatusOr<std::unique_ptr<EventSink>> Listen(EventLoop* loop, const std::string& path,
                                                           Handler handler);

 private:
  explicit EventSink(std::unique_ptr<ttrpc::Server> server) : server_(std::move(server)) {}
  std::unique_ptr<ttrpc::Server> server_;
};

}  // namespace berth::supervisor
