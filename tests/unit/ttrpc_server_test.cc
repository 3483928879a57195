// A ttrpc server and its clients in one process, on one EventLoop; the
// BlockingClient, which waits, talks to a server in a child process.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "berth_pb.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/client.h"
#include "lib/ttrpc/server.h"
#include "ttrpc.pb.h"

namespace berth::ttrpc {
namespace {

using berth::pb::Any;

constexpr char kService[] = "test.Service";

EventLoop NewLoop() {
  absl::StatusOr<EventLoop> loop = EventLoop::Create();
  REQUIRE(loop.ok());
  return std::move(*loop);
}

UniqueFd Listen(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(::listen(fd.get(), 64) == 0);
  return fd;
}

// Runs the loop until `done()` holds (true) or `timeout` passes (false).
bool RunUntil(EventLoop& loop, const std::function<bool()>& done,
              absl::Duration timeout = absl::Seconds(5)) {
  absl::Time deadline = absl::Now() + timeout;
  EventLoop::TimerId timer = 0;
  bool met = false;  // `done` is asked once per check: it may consume what it sees
  std::function<void()> check = [&] {
    met = done();
    if (met || absl::Now() > deadline) return loop.Stop();
    timer = loop.After(absl::Milliseconds(1), check);
  };
  timer = loop.After(absl::ZeroDuration(), check);
  REQUIRE(loop.Run().ok());
  loop.Cancel(timer);
  return met;
}

bool Readable(int fd) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) == 1;
}

Any MakeAny(std::string value) {
  Any any;
  any.set_value(std::move(value));
  return any;
}

std::string AnyValue(absl::string_view bytes) {
  Any any;
  REQUIRE(any.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return any.value();
}

// Echo answers its Any with type_url "echoed"; Hold keeps its Call (and
// payload) for the test to answer; Fail fails; Drop drops its Call; Big
// answers with an Any of the size its request's value names.
struct TestServer {
  std::string dir;
  std::string path;
  EventLoop loop = NewLoop();
  std::unique_ptr<Server> server;
  std::vector<std::pair<Call, std::string>> held;

  TestServer() {
    char name[] = "/tmp/berth-ttrpc-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    dir = name;
    path = dir + "/ttrpc.sock";
    server = std::make_unique<Server>(&loop, Listen(path));
    server->Register(kService, "Echo", [](Call call, absl::string_view payload) {
      Any any;
      if (!any.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return call.Fail(absl::InvalidArgumentError("not an Any"));
      }
      any.set_type_url("echoed");
      call.Reply(any);
    });
    server->Register(kService, "Hold", [this](Call call, absl::string_view payload) {
      held.emplace_back(std::move(call), AnyValue(payload));
    });
    server->Register(kService, "Fail", [](Call call, absl::string_view) {
      call.Fail(absl::NotFoundError("no such thing"));
    });
    server->Register(kService, "Drop", [](Call, absl::string_view) {});
    server->Register(kService, "Big", [](Call call, absl::string_view payload) {
      call.Reply(MakeAny(std::string(std::stoul(AnyValue(payload)), 'b')));
    });
    REQUIRE(server->Start().ok());
  }
  ~TestServer() {
    held.clear();
    server.reset();
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }

  std::unique_ptr<Client> Connect() {
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(&loop, path);
    REQUIRE(client.ok());
    return std::move(*client);
  }
  BlockingClient ConnectBlocking() {
    absl::StatusOr<BlockingClient> client = BlockingClient::Connect(path);
    REQUIRE(client.ok());
    return std::move(*client);
  }
  // Serves until `client` has a whole frame (the client may have read it
  // already with an earlier one), and returns it.
  Frame Answer(BlockingClient& client) {
    absl::StatusOr<Frame> frame;
    REQUIRE(RunUntil(loop, [&] {
      frame = client.ReadFrame(absl::ZeroDuration());
      return frame.status().code() != absl::StatusCode::kDeadlineExceeded;
    }));
    REQUIRE(frame.ok());
    CHECK(frame->header.type == static_cast<uint8_t>(FrameType::kResponse));
    return *std::move(frame);
  }
};

// Where an async call's answer lands.
struct Result {
  int calls = 0;
  absl::StatusOr<std::string> value;
  Client::Done Capture() {
    return [this](absl::StatusOr<std::string> v) {
      ++calls;
      value = std::move(v);
    };
  }
};

TEST_CASE("ttrpc server answers an async client's call", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result result;
  client->Call(kService, "Echo", MakeAny("ping"), result.Capture());
  CHECK(client->pending() == 1);
  REQUIRE(RunUntil(t.loop, [&] { return result.calls > 0; }));
  REQUIRE(result.value.ok());
  Any answer;
  REQUIRE(answer.ParseFromString(*result.value));
  CHECK(answer.type_url() == "echoed");
  CHECK(answer.value() == "ping");
  CHECK(client->pending() == 0);
  CHECK(t.server->connection_count() == 1);
}

TEST_CASE("ttrpc handler errors reach the client with code and message", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result failed, unknown_method, unknown_service;
  client->Call(kService, "Fail", pb::Empty(), failed.Capture());
  client->Call(kService, "Nope", pb::Empty(), unknown_method.Capture());
  client->Call("other.Service", "Echo", pb::Empty(), unknown_service.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return client->pending() == 0; }));
  CHECK(failed.value.status().code() == absl::StatusCode::kNotFound);
  CHECK(failed.value.status().message() == "no such thing");
  CHECK(unknown_method.value.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(unknown_method.value.status().message(), "test.Service/Nope"));
  CHECK(unknown_service.value.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(absl::StrContains(unknown_service.value.status().message(), "other.Service/Echo"));
}

TEST_CASE("ttrpc calls in flight are answered out of order, after their handler", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  constexpr int kCalls = 20;
  std::vector<Result> results(kCalls);
  std::vector<int> finished;
  for (int i = 0; i < kCalls; ++i) {
    client->Call(kService, "Hold", MakeAny(std::to_string(i)),
                 [&results, &finished, i](absl::StatusOr<std::string> v) {
                   results[i].value = std::move(v);
                   finished.push_back(i);
                 });
  }
  REQUIRE(RunUntil(t.loop, [&] { return t.held.size() == kCalls; }));
  CHECK(finished.empty());
  for (int i = kCalls - 1; i >= 0; --i) {
    auto& [call, value] = t.held[i];
    CHECK_FALSE(call.answered());
    call.Reply(MakeAny(value + "!"));
    CHECK(call.answered());
    call.Reply(MakeAny("twice"));  // a second answer goes nowhere
  }
  REQUIRE(RunUntil(t.loop, [&] { return finished.size() == kCalls; }));
  for (int i = 0; i < kCalls; ++i) {
    CHECK(finished[i] == kCalls - 1 - i);
    REQUIRE(results[i].value.ok());
    CHECK(AnyValue(*results[i].value) == std::to_string(i) + "!");
  }
  CHECK(client->pending() == 0);
}

TEST_CASE("ttrpc request on an even stream id fails on that stream", "[ttrpc]") {
  TestServer t;
  BlockingClient client = t.ConnectBlocking();
  REQUIRE(client.SendRequest(2, kService, "Echo", MakeAny("x").SerializeAsString()).ok());
  Frame bad = t.Answer(client);
  CHECK(bad.header.stream_id == 2);
  CHECK(DecodeResponse(bad.payload).status().code() == absl::StatusCode::kInvalidArgument);
  // The connection still serves.
  REQUIRE(client.SendRequest(3, kService, "Echo", MakeAny("y").SerializeAsString()).ok());
  Frame good = t.Answer(client);
  CHECK(good.header.stream_id == 3);
  absl::StatusOr<std::string> payload = DecodeResponse(good.payload);
  REQUIRE(payload.ok());
  CHECK(AnyValue(*payload) == "y");
}

TEST_CASE("ttrpc oversized request gets RESOURCE_EXHAUSTED, the connection lives on", "[ttrpc]") {
  TestServer t;
  BlockingClient client = t.ConnectBlocking();
  std::string bytes = EncodeFrame(1, FrameType::kRequest, std::string(kMaxMessage + 100, 'o')) +
                      EncodeFrame(3, FrameType::kRequest, [] {
                        ::ttrpc::Request request;
                        request.set_service(kService);
                        request.set_method("Echo");
                        request.set_payload(MakeAny("after").SerializeAsString());
                        return request.SerializeAsString();
                      }());
  // Written from the loop: the server reads on this same thread.
  size_t sent = 0;
  int fd = client.fd();
  REQUIRE(t.loop
              .Add(fd, EPOLLOUT,
                   [&](uint32_t) {
                     ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent,
                                        MSG_DONTWAIT | MSG_NOSIGNAL);
                     if (n > 0) sent += static_cast<size_t>(n);
                     if (sent == bytes.size() || (n < 0 && errno != EAGAIN)) t.loop.Remove(fd);
                   })
              .ok());
  Frame refused = t.Answer(client);
  CHECK(refused.header.stream_id == 1);
  absl::Status status = DecodeResponse(refused.payload).status();
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK(absl::StrContains(status.message(), "exceeds maximum message size"));
  Frame answered = t.Answer(client);
  CHECK(sent == bytes.size());
  CHECK(answered.header.stream_id == 3);
  absl::StatusOr<std::string> payload = DecodeResponse(answered.payload);
  REQUIRE(payload.ok());
  CHECK(AnyValue(*payload) == "after");
}

TEST_CASE("ttrpc request frame that is not a Request gets INVALID_ARGUMENT", "[ttrpc]") {
  TestServer t;
  BlockingClient client = t.ConnectBlocking();
  // Field 1, length 16, but only two bytes follow.
  REQUIRE(client
              .SendRaw(EncodeFrame(5, FrameType::kRequest,
                                   "\x0a\x10"
                                   "ab"))
              .ok());
  Frame frame = t.Answer(client);
  CHECK(frame.header.stream_id == 5);
  CHECK(DecodeResponse(frame.payload).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ttrpc server ignores frames of other types, like Go's ttrpc", "[ttrpc]") {
  TestServer t;
  BlockingClient client = t.ConnectBlocking();
  char unknown[kHeaderSize];
  EncodeHeader(FrameHeader{.length = 4, .stream_id = 1, .type = 0x7f, .flags = 0}, unknown);
  REQUIRE(client.SendRaw(std::string(unknown, kHeaderSize) + "junk").ok());
  REQUIRE(client.SendRaw(EncodeFrame(1, FrameType::kData, "data")).ok());
  REQUIRE(client.SendRaw(EncodeFrame(1, FrameType::kResponse, "resp")).ok());
  REQUIRE(client.SendRequest(1, kService, "Echo", MakeAny("still here").SerializeAsString()).ok());
  Frame frame = t.Answer(client);
  CHECK(frame.header.stream_id == 1);
  absl::StatusOr<std::string> payload = DecodeResponse(frame.payload);
  REQUIRE(payload.ok());
  CHECK(AnyValue(*payload) == "still here");
  CHECK(t.server->connection_count() == 1);
}

TEST_CASE("ttrpc peer closing mid-frame leaves the others served", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> other = t.Connect();
  {
    BlockingClient quitter = t.ConnectBlocking();
    std::string frame = EncodeFrame(1, FrameType::kRequest, std::string(100, 'q'));
    REQUIRE(quitter.SendRaw(frame.substr(0, 30)).ok());
    REQUIRE(RunUntil(t.loop, [&] { return t.server->connection_count() == 2; }));
  }  // closed here
  REQUIRE(RunUntil(t.loop, [&] { return t.server->connection_count() == 1; }));
  Result result;
  other->Call(kService, "Echo", MakeAny("fine"), result.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return result.calls > 0; }));
  REQUIRE(result.value.ok());
  CHECK(AnyValue(*result.value) == "fine");
}

TEST_CASE("ttrpc answer to a closed connection goes nowhere, not to its fd's next user",
          "[ttrpc]") {
  TestServer t;
  {
    BlockingClient gone = t.ConnectBlocking();
    REQUIRE(gone.SendRequest(1, kService, "Hold", MakeAny("stale").SerializeAsString()).ok());
    REQUIRE(RunUntil(t.loop, [&] { return t.held.size() == 1; }));
  }
  REQUIRE(RunUntil(t.loop, [&] { return t.server->connection_count() == 0; }));
  // The next connection likely gets the same fd number, and uses stream 1 too.
  BlockingClient next = t.ConnectBlocking();
  REQUIRE(next.SendRequest(1, kService, "Echo", MakeAny("fresh").SerializeAsString()).ok());
  REQUIRE(RunUntil(t.loop, [&] { return t.server->connection_count() == 1; }));
  t.held[0].first.Reply(MakeAny("stale answer"));
  CHECK(t.held[0].first.answered());
  Frame frame = t.Answer(next);
  CHECK(frame.header.stream_id == 1);
  absl::StatusOr<std::string> payload = DecodeResponse(frame.payload);
  REQUIRE(payload.ok());
  CHECK(AnyValue(*payload) == "fresh");
  CHECK_FALSE(Readable(next.fd()));
}

TEST_CASE("ttrpc Call destroyed unanswered answers INTERNAL", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result dropped, held;
  client->Call(kService, "Drop", pb::Empty(), dropped.Capture());
  client->Call(kService, "Hold", MakeAny("h"), held.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return dropped.calls > 0 && t.held.size() == 1; }));
  CHECK(dropped.value.status().code() == absl::StatusCode::kInternal);
  CHECK(held.calls == 0);
  t.held.clear();
  REQUIRE(RunUntil(t.loop, [&] { return held.calls > 0; }));
  CHECK(held.value.status().code() == absl::StatusCode::kInternal);
}

TEST_CASE("ttrpc Call kept past its Server is safe to answer and destroy", "[ttrpc]") {
  auto t = std::make_unique<TestServer>();
  BlockingClient client = t->ConnectBlocking();
  REQUIRE(client.SendRequest(1, kService, "Hold", MakeAny("x").SerializeAsString()).ok());
  REQUIRE(RunUntil(t->loop, [&] { return t->held.size() == 1; }));
  std::vector<std::pair<Call, std::string>> kept = std::move(t->held);
  t->server.reset();
  kept[0].first.Fail(absl::AbortedError("too late"));
  CHECK(kept[0].first.answered());
  kept.clear();
}

TEST_CASE("ttrpc client call times out with DEADLINE_EXCEEDED", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result slow;
  client->Call(kService, "Hold", MakeAny("slow"), slow.Capture(), absl::Milliseconds(30));
  absl::Time start = absl::Now();
  REQUIRE(RunUntil(t.loop, [&] { return slow.calls > 0; }));
  CHECK(absl::Now() - start >= absl::Milliseconds(25));
  CHECK(slow.value.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(client->pending() == 0);
  // Its late answer is ignored; the client still works.
  REQUIRE(t.held.size() == 1);
  t.held[0].first.Reply(MakeAny("late"));
  Result next;
  client->Call(kService, "Echo", MakeAny("next"), next.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return next.calls > 0; }));
  REQUIRE(next.value.ok());
  CHECK(AnyValue(*next.value) == "next");
  CHECK(slow.calls == 1);
}

TEST_CASE("ttrpc server closing fails pending client calls with UNAVAILABLE", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result a, b;
  client->Call(kService, "Hold", MakeAny("a"), a.Capture());
  client->Call(kService, "Hold", MakeAny("b"), b.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return t.held.size() == 2; }));
  t.server->Close();
  CHECK(t.server->connection_count() == 0);
  REQUIRE(RunUntil(t.loop, [&] { return a.calls > 0 && b.calls > 0; }));
  CHECK(a.value.status().code() == absl::StatusCode::kUnavailable);
  CHECK(b.value.status().code() == absl::StatusCode::kUnavailable);
  CHECK(client->closed());
  t.held.clear();  // answers to a closed server go nowhere
  Result after;
  client->Call(kService, "Echo", MakeAny("x"), after.Capture());
  CHECK(after.calls == 0);  // never inside Call()
  REQUIRE(RunUntil(t.loop, [&] { return after.calls > 0; }));
  CHECK(after.value.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("ttrpc client may destroy itself from its callback", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  int calls = 0;
  for (int i = 0; i < 3; ++i) {
    client->Call(kService, "Echo", MakeAny("x"), [&](absl::StatusOr<std::string>) {
      ++calls;
      client.reset();
    });
  }
  REQUIRE(RunUntil(t.loop, [&] { return client == nullptr; }));
  // The other two answers arrive at a closed socket; nothing else runs.
  REQUIRE_FALSE(RunUntil(
      t.loop, [&] { return calls > 1; }, absl::Milliseconds(30)));
  CHECK(calls == 1);
}

TEST_CASE("ttrpc server drops a connection that does not read its answers", "[ttrpc]") {
  TestServer t;
  BlockingClient hoarder = t.ConnectBlocking();
  std::string big = std::to_string(kMaxMessage - 1024);
  // About 4 MiB each: the fifth puts more than 16 MiB in the server's buffer.
  for (uint32_t stream = 1; stream <= 11; stream += 2) {
    REQUIRE(hoarder.SendRequest(stream, kService, "Big", MakeAny(big).SerializeAsString()).ok());
  }
  REQUIRE(RunUntil(t.loop, [&] { return t.server->connection_count() == 0; }));
  // Others are still served.
  std::unique_ptr<Client> client = t.Connect();
  Result result;
  client->Call(kService, "Echo", MakeAny("ok"), result.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return result.calls > 0; }));
  CHECK(result.value.ok());
}

TEST_CASE("ttrpc client refuses a request above the maximum size", "[ttrpc]") {
  TestServer t;
  std::unique_ptr<Client> client = t.Connect();
  Result result;
  client->Call(kService, "Echo", MakeAny(std::string(kMaxMessage, 'x')), result.Capture());
  REQUIRE(RunUntil(t.loop, [&] { return result.calls > 0; }));
  CHECK(result.value.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_FALSE(client->closed());
}

TEST_CASE("ttrpc DecodeResponse and EncodeErrorResponse", "[ttrpc]") {
  absl::Status status =
      DecodeResponse(EncodeErrorResponse(absl::PermissionDeniedError("no"))).status();
  CHECK(status.code() == absl::StatusCode::kPermissionDenied);
  CHECK(status.message() == "no");
  ::ttrpc::Response ok;
  ok.set_payload("answer");
  ok.mutable_status()->set_code(0);  // Go's ttrpc sends an OK status along
  absl::StatusOr<std::string> payload = DecodeResponse(ok.SerializeAsString());
  REQUIRE(payload.ok());
  CHECK(*payload == "answer");
  ::ttrpc::Response odd;
  odd.mutable_status()->set_code(99);
  CHECK(DecodeResponse(odd.SerializeAsString()).status().code() == absl::StatusCode::kUnknown);
  CHECK(DecodeResponse("\xff").status().code() == absl::StatusCode::kInternal);
}

TEST_CASE("ttrpc DialUnix refuses bad addresses", "[ttrpc]") {
  CHECK(DialUnix("unix://").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(DialUnix(std::string(200, 'p')).status().code() == absl::StatusCode::kInvalidArgument);
  absl::StatusOr<UniqueFd> missing = DialUnix("unix:///nonexistent/berth.sock");
  REQUIRE_FALSE(missing.ok());
  CHECK(absl::StrContains(missing.status().message(), "/nonexistent/berth.sock"));
}

// A server in a child process, so the blocking client can wait on it.
struct ChildServer {
  std::string dir;
  std::string path;
  pid_t pid = -1;

  ChildServer() {
    char name[] = "/tmp/berth-ttrpc-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    dir = name;
    path = dir + "/ttrpc.sock";
    UniqueFd listener = Listen(path);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(Serve(std::move(listener)));
  }
  ~ChildServer() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  static int Serve(UniqueFd listener) {
    absl::StatusOr<EventLoop> loop = EventLoop::Create();
    if (!loop.ok()) return 2;
    Server server(&*loop, std::move(listener));
    std::vector<Call> held;
    server.Register(kService, "Echo", [](Call call, absl::string_view payload) {
      Any any;
      any.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      call.Reply(any);
    });
    server.Register(kService, "Fail", [](Call call, absl::string_view) {
      call.Fail(absl::NotFoundError("no such thing"));
    });
    server.Register(kService, "Hold",
                    [&held](Call call, absl::string_view) { held.push_back(std::move(call)); });
    server.Register(kService, "Quit", [&loop](Call call, absl::string_view) {
      call.Reply(pb::Empty());
      loop->Stop();
    });
    if (!server.Start().ok() || !loop->Run().ok()) return 3;
    return 0;
  }
};

TEST_CASE("ttrpc BlockingClient calls a server in another process", "[ttrpc]") {
  ChildServer child;
  for (std::string address : {"unix://" + child.path, "unix:" + child.path, child.path}) {
    INFO(address);
    absl::StatusOr<BlockingClient> client = BlockingClient::Connect(address);
    REQUIRE(client.ok());
    Any answer;
    REQUIRE(client->Call(kService, "Echo", MakeAny("blocking"), &answer).ok());
    CHECK(answer.value() == "blocking");
  }
  absl::StatusOr<BlockingClient> client = BlockingClient::Connect(child.path);
  REQUIRE(client.ok());
  absl::Status failed = client->Call(kService, "Fail", pb::Empty(), nullptr);
  CHECK(failed.code() == absl::StatusCode::kNotFound);
  CHECK(failed.message() == "no such thing");
  absl::Status slow = client->Call(kService, "Hold", pb::Empty(), nullptr, absl::Milliseconds(30));
  CHECK(slow.code() == absl::StatusCode::kDeadlineExceeded);
  // Still usable after a timeout.
  Any answer;
  REQUIRE(client->Call(kService, "Echo", MakeAny("again"), &answer).ok());
  CHECK(answer.value() == "again");
  REQUIRE(client->Call(kService, "Quit", pb::Empty(), nullptr).ok());
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  child.pid = -1;
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // Exiting, the server answered the call it still held (stream 3: Fail was
  // 1) with INTERNAL; then the connection reads end of file.
  absl::StatusOr<Frame> frame = client->ReadFrame(absl::Seconds(1));
  REQUIRE(frame.ok());
  CHECK(frame->header.stream_id == 3);
  CHECK(DecodeResponse(frame->payload).status().code() == absl::StatusCode::kInternal);
  frame = client->ReadFrame(absl::Seconds(1));
  CHECK(frame.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace berth::ttrpc
