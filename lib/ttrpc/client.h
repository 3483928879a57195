// ttrpc clients. Client runs on an EventLoop (the shim publishes its events
// to containerd with it, never blocking its loop); BlockingClient is for
// tests and command-line tools.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/frame.h"
#include "lib/unique_fd.h"

namespace google::protobuf {
class MessageLite;
}

namespace berth::ttrpc {

// "unix:///run/x.sock", "unix:/run/x.sock" or a plain path; connects a
// blocking-mode unix stream socket (O_CLOEXEC).
absl::StatusOr<UniqueFd> DialUnix(absl::string_view address);

class Client {
 public:
  // The response payload, or the error status the server answered (or
  // UNAVAILABLE when the connection closed first, DEADLINE_EXCEEDED on timeout).
  using Done = std::function<void(absl::StatusOr<std::string> payload)>;

  static absl::StatusOr<std::unique_ptr<Client>> Connect(EventLoop* loop,
                                                         absl::string_view address);
  ~Client();

  // Sends a request; `done` runs on the loop when its answer arrives (never
  // inside Call itself). absl::InfiniteDuration() means no timeout. Pending
  // calls are dropped, their `done` not run, when the Client is destroyed.
  void Call(absl::string_view service, absl::string_view method,
            const google::protobuf::MessageLite& request, Done done,
            absl::Duration timeout = absl::Seconds(5));
  bool closed() const { return !fd_.valid(); }
  size_t pending() const { return pending_.size(); }

 private:
  Client(EventLoop* loop, UniqueFd fd) : loop_(loop), fd_(std::move(fd)) {}
  void OnEvent(uint32_t events);
  void Flush();
  void WatchOutput(bool want);
  void Finish(uint32_t stream, absl::StatusOr<std::string> result);
  void CloseWith(const absl::Status& status);

  struct Pending {
    Done done;
    EventLoop::TimerId timer = 0;
  };
  EventLoop* loop_;
  UniqueFd fd_;
  FrameReader reader_;
  std::string out_;
  size_t out_sent_ = 0;  // bytes at the front of out_ already sent
  bool watching_out_ = false;
  uint32_t next_stream_ = 1;  // client streams are odd
  absl::flat_hash_map<uint32_t, Pending> pending_;
  // False once destroyed: a `done` callback may destroy its Client.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class BlockingClient {
 public:
  static absl::StatusOr<BlockingClient> Connect(absl::string_view address);

  // One request, one answer; parses the answer into `response` (may be null).
  absl::Status Call(absl::string_view service, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response,
                    absl::Duration timeout = absl::Seconds(10));

  // For protocol tests: raw bytes out, one whole frame in (UNAVAILABLE at EOF).
  absl::Status SendRaw(absl::string_view bytes);
  absl::StatusOr<Frame> ReadFrame(absl::Duration timeout = absl::Seconds(10));
  // Sends a request frame with an explicit stream id, without waiting.
  absl::Status SendRequest(uint32_t stream, absl::string_view service, absl::string_view method,
                           absl::string_view payload);
  int fd() const { return fd_.get(); }

 private:
  explicit BlockingClient(UniqueFd fd) : fd_(std::move(fd)) {}
  absl::Status Send(absl::string_view bytes, absl::Time deadline);
  absl::StatusOr<Frame> ReadFrameBy(absl::Time deadline);

  UniqueFd fd_;  // non-blocking; waits are poll()s
  FrameReader reader_;
  uint32_t next_stream_ = 1;
};

// Decodes a Response frame's payload: the answer's payload, or its status.
absl::StatusOr<std::string> DecodeResponse(absl::string_view response_bytes);

}  // namespace berth::ttrpc
