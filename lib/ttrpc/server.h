// A ttrpc server on an EventLoop: many connections, many requests in flight
// on each, answers in any order. A handler may answer later than it returns
// (the shim's Wait answers when the process exits) by keeping its Call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/frame.h"
#include "lib/unique_fd.h"

namespace google::protobuf {
class MessageLite;
}

namespace berth::ttrpc {

class Server;

// One request awaiting its answer. Movable, not copyable. Answering twice, or
// answering after the connection has closed, does nothing. Destroying an
// unanswered Call answers INTERNAL, so no client waits forever.
class Call {
 public:
  Call() = default;
  Call(Call&& other) noexcept;
  Call& operator=(Call&& other) noexcept;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call();

  void Reply(const google::protobuf::MessageLite& response);
  void Fail(const absl::Status& status);
  bool answered() const { return server_ == nullptr; }

 private:
  friend class Server;
  Call(std::shared_ptr<Server*> server, uint64_t connection, uint32_t stream)
      : server_(std::move(server)), connection_(connection), stream_(stream) {}
  void Send(absl::string_view response_bytes);

  // Null once answered. Points at the Server's own pointer to itself, which
  // the Server clears when destroyed, so a Call kept past its Server is safe.
  std::shared_ptr<Server*> server_;
  uint64_t connection_ = 0;
  uint32_t stream_ = 0;
};

// `payload` is the request message's encoding; the handler parses it.
using Handler = std::function<void(Call call, absl::string_view payload)>;

class Server {
 public:
  // Serves on `listener` (a listening unix socket; owned from now on).
  Server(EventLoop* loop, UniqueFd listener);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Method names as ttrpc sends them: service "containerd.task.v2.Task",
  // method "Create".
  void Register(std::string service, std::string method, Handler handler);

  // Starts accepting on the loop.
  absl::Status Start();
  // Stops accepting and closes every connection (pending Calls become no-ops).
  void Close();
  size_t connection_count() const { return connections_.size(); }

 private:
  friend class Call;
  struct Connection;

  void Accept();
  void PauseAccepting();
  void OnConnectionEvent(uint64_t id, uint32_t events);
  void Dispatch(uint64_t id, Frame& frame);
  void SendResponse(uint64_t connection, uint32_t stream, absl::string_view response_bytes);
  void Flush(uint64_t id);
  void Drop(uint64_t id);

  EventLoop* loop_;
  UniqueFd listener_;
  absl::flat_hash_map<std::string, Handler> handlers_;  // "service/method"
  absl::flat_hash_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_connection_ = 1;
  std::shared_ptr<Server*> self_;        // shared with every Call; cleared by ~Server
  EventLoop::TimerId accept_retry_ = 0;  // set while accepting is paused (EMFILE)
};

// The `Response.status` a failed absl::Status becomes (its code is a gRPC
// code: absl::StatusCode uses the same numbers), and back.
std::string EncodeErrorResponse(const absl::Status& status);

}  // namespace berth::ttrpc
