#include "lib/ttrpc/server.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/log.h"
#include "ttrpc.pb.h"

namespace berth::ttrpc {
namespace {

// A peer that stops reading its answers must not make the server grow
// without bound: past this much unsent output its connection is dropped.
constexpr size_t kMaxPendingOutput = 16 << 20;
constexpr absl::Duration kAcceptRetry = absl::Milliseconds(100);

std::string HandlerKey(absl::string_view service, absl::string_view method) {
  return absl::StrCat(service, "/", method);
}

}  // namespace

struct Server::Connection {
  UniqueFd fd;
  FrameReader reader;
  std::string out;      // encoded frames not yet sent
  size_t out_sent = 0;  // bytes at the front of `out` already sent
  bool watching_out = false;
};

// ---- Call ----

Call::Call(Call&& other) noexcept
    : server_(std::move(other.server_)), connection_(other.connection_), stream_(other.stream_) {}

Call& Call::operator=(Call&& other) noexcept {
  if (this != &other) {
    if (!answered()) Fail(absl::InternalError("ttrpc: call replaced before it was answered"));
    server_ = std::move(other.server_);
    connection_ = other.connection_;
    stream_ = other.stream_;
  }
  return *this;
}

Call::~Call() {
  if (!answered())
    Fail(absl::InternalError("ttrpc: the server dropped the call without answering"));
}

void Call::Reply(const google::protobuf::MessageLite& response) {
  if (answered()) return;
  ::ttrpc::Response envelope;
  if (!response.SerializeToString(envelope.mutable_payload())) {
    return Fail(absl::InternalError("ttrpc: cannot encode the response"));
  }
  // Leave room for the envelope's own few bytes.
  if (envelope.payload().size() > kMaxMessage - 64) {
    return Fail(
        absl::ResourceExhaustedError(absl::StrCat("ttrpc: response of ", envelope.payload().size(),
                                                  " bytes exceeds the maximum message size")));
  }
  Send(envelope.SerializeAsString());
}

void Call::Fail(const absl::Status& status) {
  if (answered()) return;
  Send(EncodeErrorResponse(status.ok() ? absl::UnknownError("ttrpc: failed without a status")
                                       : status));
}

void Call::Send(absl::string_view response_bytes) {
  std::shared_ptr<Server*> server = std::move(server_);  // answered from now on
  if (*server != nullptr) (*server)->SendResponse(connection_, stream_, response_bytes);
}

// ---- Server ----

Server::Server(EventLoop* loop, UniqueFd listener)
    : loop_(loop), listener_(std::move(listener)), self_(std::make_shared<Server*>(this)) {}

Server::~Server() {
  Close();
  *self_ = nullptr;
}

void Server::Register(std::string service, std::string method, Handler handler) {
  handlers_[HandlerKey(service, method)] = std::move(handler);
}

absl::Status Server::Start() {
  if (!listener_.valid()) return absl::FailedPreconditionError("ttrpc: server is closed");
  // Accept() takes connections until EAGAIN, so the listener must not block.
  int flags = ::fcntl(listener_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError("ttrpc: making the listening socket non-blocking");
  }
  return loop_->Add(listener_.get(), EPOLLIN, [this](uint32_t) { Accept(); });
}

void Server::Close() {
  if (accept_retry_ != 0) loop_->Cancel(std::exchange(accept_retry_, 0));
  if (listener_.valid()) {
    loop_->Remove(listener_.get());
    listener_.reset();
  }
  while (!connections_.empty()) Drop(connections_.begin()->first);
}

void Server::Accept() {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // EMFILE and friends: the listener stays readable, so retrying now
      // would spin; try again a little later.
      log::Warn(ErrnoError("ttrpc: accept").ToString());
      return PauseAccepting();
    }
    auto connection = std::make_unique<Connection>();
    connection->fd.reset(fd);
    uint64_t id = next_connection_++;
    absl::Status added =
        loop_->Add(fd, EPOLLIN, [this, id](uint32_t events) { OnConnectionEvent(id, events); });
    if (!added.ok()) {
      log::Warn(absl::StrCat("ttrpc: refusing a connection: ", added.ToString()));
      continue;  // closes fd
    }
    connections_.emplace(id, std::move(connection));
  }
}

void Server::PauseAccepting() {
  loop_->Remove(listener_.get());
  accept_retry_ = loop_->After(kAcceptRetry, [this] {
    accept_retry_ = 0;
    absl::Status started = Start();
    if (!started.ok()) log::Error(absl::StrCat("ttrpc: accept: ", started.ToString()));
  });
}

void Server::OnConnectionEvent(uint64_t id, uint32_t events) {
  if (events & EPOLLOUT) Flush(id);
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  absl::StatusOr<bool> open = it->second->reader.ReadFrom(it->second->fd.get());
  // Answer every complete frame, even from a peer that has just closed.
  // A handler may drop this connection (or all of them): look it up each time.
  for (;;) {
    it = connections_.find(id);
    if (it == connections_.end()) return;
    std::optional<Frame> frame = it->second->reader.Next();
    if (!frame) break;
    Dispatch(id, *frame);
  }
  if (!open.ok())
    log::Debug(absl::StrCat("ttrpc: dropping connection: ", open.status().ToString()));
  // Like Go's ttrpc, a peer's end of file ends the connection: answers to
  // calls still in flight are not sent.
  if (!open.ok() || !*open) Drop(id);
}

void Server::Dispatch(uint64_t id, Frame& frame) {
  uint32_t stream = frame.header.stream_id;
  if (frame.oversized) {
    return SendResponse(id, stream,
                        EncodeErrorResponse(absl::ResourceExhaustedError(
                            absl::StrCat("ttrpc: message length ", frame.header.length,
                                         " exceeds maximum message size of ", kMaxMessage))));
  }
  // Go's ttrpc ignores other frame types (kept for protocol extensions such
  // as streaming); so do we, rather than dropping the connection.
  if (frame.header.type != static_cast<uint8_t>(FrameType::kRequest)) return;
  ::ttrpc::Request request;
  if (!request.ParseFromString(frame.payload)) {
    return SendResponse(id, stream,
                        EncodeErrorResponse(absl::InvalidArgumentError(
                            "ttrpc: the request frame does not hold a ttrpc Request")));
  }
  if (stream % 2 != 1) {
    return SendResponse(id, stream,
                        EncodeErrorResponse(absl::InvalidArgumentError(
                            "ttrpc: StreamID must be odd for client initiated streams")));
  }
  auto handler = handlers_.find(HandlerKey(request.service(), request.method()));
  if (handler == handlers_.end()) {
    return SendResponse(
        id, stream,
        EncodeErrorResponse(absl::UnimplementedError(absl::StrCat(
            "ttrpc: method ", request.service(), "/", request.method(), " is not implemented"))));
  }
  Handler run = handler->second;  // a copy: the handler may Register() others
  run(Call(self_, id, stream), request.payload());
}

void Server::SendResponse(uint64_t connection, uint32_t stream, absl::string_view response_bytes) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;  // closed since the request came
  it->second->out += EncodeFrame(stream, FrameType::kResponse, response_bytes);
  Flush(connection);
}

void Server::Flush(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  while (c.out_sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);  // a closed peer must not SIGPIPE us
    if (n >= 0) {
      c.out_sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      log::Debug(ErrnoError("ttrpc: dropping connection: send").ToString());
      return Drop(id);
    }
  }
  size_t unsent = c.out.size() - c.out_sent;
  if (unsent > kMaxPendingOutput) {
    log::Warn(absl::StrCat("ttrpc: dropping a connection whose peer does not read its answers (",
                           unsent, " bytes unsent)"));
    return Drop(id);
  }
  if (unsent == 0) {
    c.out.clear();
    c.out_sent = 0;
  } else if (c.out_sent >= c.out.size() / 2) {
    c.out.erase(0, c.out_sent);
    c.out_sent = 0;
  }
  // EPOLLOUT only while something waits, or a writable socket would spin the loop.
  bool want_out = unsent > 0;
  if (want_out != c.watching_out) {
    absl::Status modified = loop_->Modify(c.fd.get(), EPOLLIN | (want_out ? EPOLLOUT : 0u));
    if (!modified.ok()) {
      log::Warn(absl::StrCat("ttrpc: dropping connection: ", modified.ToString()));
      return Drop(id);
    }
    c.watching_out = want_out;
  }
}

void Server::Drop(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  loop_->Remove(it->second->fd.get());
  connections_.erase(it);  // closes the fd
}

std::string EncodeErrorResponse(const absl::Status& status) {
  ::ttrpc::Response response;
  response.mutable_status()->set_code(static_cast<int>(status.code()));
  response.mutable_status()->set_message(std::string(status.message()));
  return response.SerializeAsString();
}

}  // namespace berth::ttrpc
