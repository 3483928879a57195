#include "lib/ttrpc/client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/log.h"
#include "ttrpc.pb.h"

namespace berth::ttrpc {
namespace {

absl::Status SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError("ttrpc: making the socket non-blocking");
  }
  return absl::OkStatus();
}

// The Request envelope for one call, or RESOURCE_EXHAUSTED if too large to send.
absl::StatusOr<std::string> EncodeRequest(absl::string_view service, absl::string_view method,
                                          absl::string_view payload, absl::Duration timeout) {
  ::ttrpc::Request request;
  request.set_service(std::string(service));
  request.set_method(std::string(method));
  request.set_payload(std::string(payload));
  if (timeout != absl::InfiniteDuration()) {
    request.set_timeout_nano(absl::ToInt64Nanoseconds(timeout));
  }
  std::string bytes = request.SerializeAsString();
  if (bytes.size() > kMaxMessage) {
    return absl::ResourceExhaustedError(absl::StrCat("ttrpc: request to ", service, "/", method,
                                                     " is ", bytes.size(),
                                                     " bytes, above the maximum of ", kMaxMessage));
  }
  return bytes;
}

// Milliseconds until `deadline` for poll(), rounded up, never negative.
int PollTimeout(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

// Waits for `events` on fd until `deadline`: OK, DEADLINE_EXCEEDED or an error.
absl::Status WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, PollTimeout(deadline));
    if (n > 0) return absl::OkStatus();
    if (n == 0) return absl::DeadlineExceededError("ttrpc: timed out waiting for the server");
    if (errno != EINTR) return ErrnoError("ttrpc: poll");
  }
}

}  // namespace

absl::StatusOr<UniqueFd> DialUnix(absl::string_view address) {
  absl::string_view path = address;
  if (!absl::ConsumePrefix(&path, "unix://")) absl::ConsumePrefix(&path, "unix:");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("ttrpc: bad socket address \"", address,
                                                   "\": its path must be 1 to ",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  socklen_t length = offsetof(sockaddr_un, sun_path) + path.size() + 1;
  if (path[0] == '@') {  // abstract socket, as older containerd shims used
    addr.sun_path[0] = '\0';
    --length;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError("ttrpc: socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    return ErrnoError(absl::StrCat("ttrpc: connect to ", path));
  }
  return fd;
}

// ---- Client ----

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(EventLoop* loop,
                                                        absl::string_view address) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, DialUnix(address));
  BERTH_RETURN_IF_ERROR(SetNonBlocking(fd.get()));
  std::unique_ptr<Client> client(new Client(loop, std::move(fd)));
  Client* raw = client.get();
  BERTH_RETURN_IF_ERROR(
      loop->Add(raw->fd_.get(), EPOLLIN, [raw](uint32_t events) { raw->OnEvent(events); }));
  return client;
}

Client::~Client() {
  *alive_ = false;
  for (auto& [stream, pending] : pending_) loop_->Cancel(pending.timer);
  if (fd_.valid()) loop_->Remove(fd_.get());
}

void Client::Call(absl::string_view service, absl::string_view method,
                  const google::protobuf::MessageLite& request, Done done, absl::Duration timeout) {
  absl::StatusOr<std::string> bytes =
      closed() ? absl::UnavailableError("ttrpc: connection closed")
               : EncodeRequest(service, method, request.SerializeAsString(), timeout);
  if (!bytes.ok()) {
    // Failed before sending, but still answered from the loop, as promised.
    loop_->After(absl::ZeroDuration(),
                 [done = std::move(done), status = bytes.status()] { done(status); });
    return;
  }
  uint32_t stream = next_stream_;
  next_stream_ += 2;
  Pending& pending = pending_[stream];
  pending.done = std::move(done);
  if (timeout != absl::InfiniteDuration()) {
    pending.timer =
        loop_->After(timeout, [this, stream, what = absl::StrCat(service, "/", method), timeout] {
          Finish(stream, absl::DeadlineExceededError(absl::StrCat(
                             "ttrpc: ", what, " timed out after ", absl::FormatDuration(timeout))));
        });
  }
  out_ += EncodeFrame(stream, FrameType::kRequest, *bytes);
  // Written when the loop sees the socket writable, so that a broken
  // connection fails calls from the loop and never inside Call().
  WatchOutput(true);
}

void Client::OnEvent(uint32_t events) {
  std::shared_ptr<bool> alive = alive_;
  if (events & EPOLLOUT) {
    Flush();
    if (!*alive || closed()) return;
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  absl::StatusOr<bool> open = reader_.ReadFrom(fd_.get());
  while (std::optional<Frame> frame = reader_.Next()) {
    if (frame->header.type != static_cast<uint8_t>(FrameType::kResponse)) continue;
    Finish(frame->header.stream_id,
           frame->oversized ? absl::ResourceExhaustedError("ttrpc: the answer exceeds 4 MiB")
                            : DecodeResponse(frame->payload));
    if (!*alive) return;
  }
  if (!open.ok()) {
    CloseWith(
        absl::UnavailableError(absl::StrCat("ttrpc: connection lost: ", open.status().message())));
  } else if (!*open) {
    CloseWith(absl::UnavailableError("ttrpc: connection closed by the server"));
  }
}

void Client::Flush() {
  while (out_sent_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      out_sent_ += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      return CloseWith(absl::UnavailableError(
          absl::StrCat("ttrpc: connection lost: ", ErrnoError("send").message())));
    }
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
  WatchOutput(!out_.empty());
}

void Client::WatchOutput(bool want) {
  if (want == watching_out_ || closed()) return;
  absl::Status modified = loop_->Modify(fd_.get(), EPOLLIN | (want ? EPOLLOUT : 0u));
  if (!modified.ok()) log::Error(absl::StrCat("ttrpc client: ", modified.ToString()));
  watching_out_ = want;
}

void Client::Finish(uint32_t stream, absl::StatusOr<std::string> result) {
  auto it = pending_.find(stream);
  if (it == pending_.end()) return;  // timed out already, or not ours
  Pending pending = std::move(it->second);
  pending_.erase(it);
  loop_->Cancel(pending.timer);
  pending.done(std::move(result));
}

void Client::CloseWith(const absl::Status& status) {
  loop_->Remove(fd_.get());
  fd_.reset();
  out_.clear();
  out_sent_ = 0;
  absl::flat_hash_map<uint32_t, Pending> calls = std::move(pending_);
  pending_.clear();
  for (auto& [stream, pending] : calls) loop_->Cancel(pending.timer);
  // Runs no member after the first callback: it may destroy this Client.
  for (auto& [stream, pending] : calls) pending.done(status);
}

// ---- BlockingClient ----

absl::StatusOr<BlockingClient> BlockingClient::Connect(absl::string_view address) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, DialUnix(address));
  BERTH_RETURN_IF_ERROR(SetNonBlocking(fd.get()));
  return BlockingClient(std::move(fd));
}

absl::Status BlockingClient::Call(absl::string_view service, absl::string_view method,
                                  const google::protobuf::MessageLite& request,
                                  google::protobuf::MessageLite* response, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  BERTH_ASSIGN_OR_RETURN(std::string bytes,
                         EncodeRequest(service, method, request.SerializeAsString(), timeout));
  uint32_t stream = next_stream_;
  next_stream_ += 2;
  BERTH_RETURN_IF_ERROR(Send(EncodeFrame(stream, FrameType::kRequest, bytes), deadline));
  for (;;) {
    absl::StatusOr<Frame> frame = ReadFrameBy(deadline);
    if (!frame.ok()) {
      return Annotate(frame.status(), absl::StrCat("ttrpc: ", service, "/", method));
    }
    // Skip late answers to earlier calls that timed out.
    if (frame->header.stream_id != stream ||
        frame->header.type != static_cast<uint8_t>(FrameType::kResponse)) {
      continue;
    }
    if (frame->oversized) return absl::ResourceExhaustedError("ttrpc: the answer exceeds 4 MiB");
    BERTH_ASSIGN_OR_RETURN(std::string payload, DecodeResponse(frame->payload));
    if (response != nullptr && !response->ParseFromString(payload)) {
      return absl::InternalError(
          absl::StrCat("ttrpc: cannot decode the answer to ", service, "/", method));
    }
    return absl::OkStatus();
  }
}

absl::Status BlockingClient::SendRaw(absl::string_view bytes) {
  return Send(bytes, absl::InfiniteFuture());
}

absl::StatusOr<Frame> BlockingClient::ReadFrame(absl::Duration timeout) {
  return ReadFrameBy(absl::Now() + timeout);
}

absl::Status BlockingClient::SendRequest(uint32_t stream, absl::string_view service,
                                         absl::string_view method, absl::string_view payload) {
  BERTH_ASSIGN_OR_RETURN(std::string bytes,
                         EncodeRequest(service, method, payload, absl::InfiniteDuration()));
  return SendRaw(EncodeFrame(stream, FrameType::kRequest, bytes));
}

absl::Status BlockingClient::Send(absl::string_view bytes, absl::Time deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BERTH_RETURN_IF_ERROR(WaitFor(fd_.get(), POLLOUT, deadline));
    } else if (errno != EINTR) {
      return ErrnoError("ttrpc: send");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Frame> BlockingClient::ReadFrameBy(absl::Time deadline) {
  for (;;) {
    if (std::optional<Frame> frame = reader_.Next()) return *std::move(frame);
    BERTH_RETURN_IF_ERROR(WaitFor(fd_.get(), POLLIN, deadline));
    BERTH_ASSIGN_OR_RETURN(bool open, reader_.ReadFrom(fd_.get()));
    if (!open) {
      if (std::optional<Frame> frame = reader_.Next()) return *std::move(frame);
      return absl::UnavailableError("ttrpc: connection closed by the server");
    }
  }
}

absl::StatusOr<std::string> DecodeResponse(absl::string_view response_bytes) {
  ::ttrpc::Response response;
  if (!response.ParseFromArray(response_bytes.data(), static_cast<int>(response_bytes.size()))) {
    return absl::InternalError("ttrpc: the response frame does not hold a ttrpc Response");
  }
  if (response.has_status() && response.status().code() != 0) {
    int code = response.status().code();
    // Codes beyond gRPC's 16 are not ours to invent a meaning for.
    absl::StatusCode status_code =
        code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated)
            ? static_cast<absl::StatusCode>(code)
            : absl::StatusCode::kUnknown;
    return absl::Status(status_code, response.status().message());
  }
  return std::move(*response.mutable_payload());
}

}  // namespace berth::ttrpc
