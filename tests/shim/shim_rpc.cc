// shim-rpc: drives berth-shim (or any containerd runtime v2 shim) directly
// through berth's C++ ttrpc client, for the integration tests.
//
//   shim-rpc SOCKET METHOD [key=value...]   one Task RPC; prints the answer
//                                           as key=value lines, or
//                                           "error CODE message" (exit 1)
//   shim-rpc SOCKET probe-PROTOCOL-CASE     malformed/oversized frames, etc.
//   shim-rpc events-sink SOCKET FILE        serves Events.Forward, appends
//                                           "topic container_id" lines to FILE
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "berth_pb.pb.h"
#include "containerd_events.pb.h"
#include "containerd_shim.pb.h"
#include "lib/errors.h"
#include "lib/event_loop.h"
#include "lib/file_util.h"
#include "lib/ttrpc/client.h"
#include "lib/ttrpc/frame.h"
#include "lib/ttrpc/server.h"
#include "runc_options.pb.h"
#include "ttrpc.pb.h"

namespace v2 = containerd::task::v2;
using berth::ttrpc::BlockingClient;

namespace {

constexpr char kTask[] = "containerd.task.v2.Task";

struct Args {
  std::map<std::string, std::string> kv;
  std::string Get(const std::string& k) const {
    auto it = kv.find(k);
    return it == kv.end() ? "" : it->second;
  }
  uint32_t U(const std::string& k) const {
    uint32_t v = 0;
    return absl::SimpleAtoi(Get(k), &v) ? v : 0;
  }
  bool B(const std::string& k) const { return Get(k) == "1" || Get(k) == "true"; }
};

int Fail(const absl::Status& st) {
  std::printf("error %s %s\n", absl::StatusCodeToString(st.code()).c_str(),
              std::string(st.message()).c_str());
  return 1;
}

void PrintTime(const char* key, const berth::pb::Timestamp& t) {
  std::printf("%s=%lld\n", key, static_cast<long long>(t.seconds()));
}

int Call(BlockingClient& c, const std::string& method, const Args& a) {
  absl::Status st;
  std::string id = a.Get("id"), exec_id = a.Get("exec_id");
  if (method == "Create") {
    v2::CreateTaskRequest r;
    r.set_id(id);
    r.set_bundle(a.Get("bundle"));
    r.set_stdin(a.Get("stdin"));
    r.set_stdout(a.Get("stdout"));
    r.set_stderr(a.Get("stderr"));
    r.set_terminal(a.B("terminal"));
    if (!a.Get("binary_name").empty() || !a.Get("root").empty()) {
      containerd::runc::v1::Options o;
      o.set_binary_name(a.Get("binary_name"));
      o.set_root(a.Get("root"));
      r.mutable_options()->set_type_url("containerd.runc.v1.Options");
      r.mutable_options()->set_value(o.SerializeAsString());
    }
    if (!a.Get("options_type").empty()) r.mutable_options()->set_type_url(a.Get("options_type"));
    v2::CreateTaskResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok()) std::printf("pid=%u\n", resp.pid());
  } else if (method == "Start") {
    v2::StartRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    v2::StartResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok()) std::printf("pid=%u\n", resp.pid());
  } else if (method == "State") {
    v2::StateRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    v2::StateResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok()) {
      std::printf("id=%s\npid=%u\nstatus=%s\nexit_status=%u\nbundle=%s\nterminal=%d\n",
                  resp.id().c_str(), resp.pid(),
                  containerd::v1::types::Status_Name(resp.status()).c_str(), resp.exit_status(),
                  resp.bundle().c_str(), resp.terminal());
      PrintTime("exited_at", resp.exited_at());
    }
  } else if (method == "Delete") {
    v2::DeleteRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    v2::DeleteResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok()) std::printf("pid=%u\nexit_status=%u\n", resp.pid(), resp.exit_status());
  } else if (method == "Pids") {
    v2::PidsRequest r;
    r.set_id(id);
    v2::PidsResponse resp;
    st = c.Call(kTask, method, r, &resp);
    for (const auto& p : resp.processes()) {
      std::string exec;
      containerd::runc::v1::ProcessDetails d;
      if (p.has_info() && d.ParseFromString(p.info().value())) exec = d.exec_id();
      std::printf("process=%u %s\n", p.pid(), exec.c_str());
    }
  } else if (method == "Pause" || method == "Resume") {
    v2::PauseRequest r;  // Pause and Resume requests have the same shape
    r.set_id(id);
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "Kill") {
    v2::KillRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    r.set_signal(a.U("signal"));
    r.set_all(a.B("all"));
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "Exec") {
    v2::ExecProcessRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    r.set_terminal(a.B("terminal"));
    r.set_stdin(a.Get("stdin"));
    r.set_stdout(a.Get("stdout"));
    r.set_stderr(a.Get("stderr"));
    if (!a.Get("spec_file").empty()) {
      absl::StatusOr<std::string> spec = berth::ReadFile(a.Get("spec_file"));
      if (!spec.ok()) return Fail(spec.status());
      r.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
      r.mutable_spec()->set_value(*spec);
    }
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "ResizePty") {
    v2::ResizePtyRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    r.set_width(a.U("width"));
    r.set_height(a.U("height"));
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "CloseIO") {
    v2::CloseIORequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    r.set_stdin(true);
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "Update") {
    v2::UpdateTaskRequest r;
    r.set_id(id);
    absl::StatusOr<std::string> res = berth::ReadFile(a.Get("resources_file"));
    if (!res.ok()) return Fail(res.status());
    r.mutable_resources()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    r.mutable_resources()->set_value(*res);
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "Wait") {
    v2::WaitRequest r;
    r.set_id(id);
    r.set_exec_id(exec_id);
    v2::WaitResponse resp;
    st = c.Call(kTask, method, r, &resp, absl::Seconds(a.U("timeout") ? a.U("timeout") : 30));
    if (st.ok()) {
      std::printf("exit_status=%u\n", resp.exit_status());
      PrintTime("exited_at", resp.exited_at());
    }
  } else if (method == "Stats") {
    v2::StatsRequest r;
    r.set_id(id);
    v2::StatsResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok())
      std::printf("type_url=%s\nbytes=%zu\n", resp.stats().type_url().c_str(),
                  resp.stats().value().size());
  } else if (method == "Connect") {
    v2::ConnectRequest r;
    r.set_id(id);
    v2::ConnectResponse resp;
    st = c.Call(kTask, method, r, &resp);
    if (st.ok())
      std::printf("shim_pid=%u\ntask_pid=%u\nversion=%s\n", resp.shim_pid(), resp.task_pid(),
                  resp.version().c_str());
  } else if (method == "Shutdown") {
    v2::ShutdownRequest r;
    r.set_id(id);
    r.set_now(a.B("now"));
    st = c.Call(kTask, method, r, nullptr);
  } else if (method == "Checkpoint") {
    v2::CheckpointTaskRequest r;
    r.set_id(id);
    st = c.Call(kTask, method, r, nullptr);
  } else {
    std::printf("usage: unknown method %s\n", method.c_str());
    return 2;
  }
  if (!st.ok()) return Fail(st);
  std::printf("ok\n");
  return 0;
}

// Reads one frame and prints what it was: "response ok", "response error CODE", "eof".
void PrintAnswer(BlockingClient& c) {
  absl::StatusOr<berth::ttrpc::Frame> f = c.ReadFrame(absl::Seconds(10));
  if (!f.ok()) {
    std::printf("%s\n", absl::IsUnavailable(f.status()) ? "eof" : "timeout");
    return;
  }
  absl::StatusOr<std::string> payload = berth::ttrpc::DecodeResponse(f->payload);
  std::printf(
      "stream=%u response %s\n", f->header.stream_id,
      payload.ok()
          ? "ok"
          : absl::StrCat("error ", absl::StatusCodeToString(payload.status().code())).c_str());
}

int Probe(BlockingClient& c, const std::string& name) {
  v2::ConnectRequest connect;
  std::string connect_bytes = connect.SerializeAsString();
  if (name == "probe-oversized") {
    // Announces 8 MiB: the payload is skipped and the stream answered.
    berth::ttrpc::FrameHeader h{8u << 20, 1, 1, 0};
    char hdr[berth::ttrpc::kHeaderSize];
    berth::ttrpc::EncodeHeader(h, hdr);
    std::string big(8u << 20, 'x');
    if (!c.SendRaw(absl::string_view(hdr, sizeof hdr)).ok() || !c.SendRaw(big).ok())
      return Fail(absl::UnavailableError("send"));
    PrintAnswer(c);
  } else if (name == "probe-garbage") {
    // A request frame whose payload is not a Request message.
    if (!c.SendRaw(
              berth::ttrpc::EncodeFrame(3, berth::ttrpc::FrameType::kRequest, "\xff\xff\xff\xff"))
             .ok())
      return 1;
    PrintAnswer(c);
  } else if (name == "probe-even-stream") {
    if (!c.SendRequest(2, kTask, "Connect", connect_bytes).ok()) return 1;
    PrintAnswer(c);
  } else if (name == "probe-unknown-method") {
    if (!c.SendRequest(5, kTask, "NoSuchMethod", connect_bytes).ok()) return 1;
    PrintAnswer(c);
  } else if (name == "probe-bad-request-message") {
    // A well-formed envelope whose Create payload does not parse.
    if (!c.SendRequest(7, kTask, "Create", "\x0a\xff\xff\xff\xff\x0f").ok()) return 1;
    PrintAnswer(c);
  } else if (name == "probe-unknown-frame-type") {
    if (!c.SendRaw(berth::ttrpc::EncodeFrame(9, static_cast<berth::ttrpc::FrameType>(0x7f), "x"))
             .ok())
      return 1;
    if (!c.SendRequest(11, kTask, "Connect", connect_bytes).ok()) return 1;
    PrintAnswer(c);
  } else if (name == "probe-half-frame") {
    // Half a request, then hang up: the shim must carry on.
    std::string frame =
        berth::ttrpc::EncodeFrame(13, berth::ttrpc::FrameType::kRequest, std::string(100, 'a'));
    if (!c.SendRaw(absl::string_view(frame).substr(0, 20)).ok()) return 1;
    std::printf("sent half\n");
  } else if (name == "probe-many-inflight") {
    // 50 requests before reading any answer.
    for (uint32_t s = 1; s < 100; s += 2) {
      if (!c.SendRequest(s, kTask, "Connect", connect_bytes).ok()) return 1;
    }
    for (int i = 0; i < 50; ++i) PrintAnswer(c);
  } else {
    std::printf("usage: unknown probe %s\n", name.c_str());
    return 2;
  }
  return 0;
}

int EventsSink(const std::string& path, const std::string& out) {
  absl::StatusOr<berth::EventLoop> loop = berth::EventLoop::Create();
  if (!loop.ok()) return Fail(loop.status());
  berth::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd.get(), 16) != 0) {
    return Fail(berth::ErrnoError("listen"));
  }
  berth::ttrpc::Server server(&*loop, std::move(fd));
  server.Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                  [&out](berth::ttrpc::Call call, absl::string_view payload) {
                    containerd::events::ForwardRequest r;
                    r.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
                    // Every task event's first field is container_id.
                    containerd::events::TaskStart ev;
                    ev.ParseFromString(r.envelope().event().value());
                    std::ofstream(out, std::ios::app)
                        << r.envelope().topic() << " " << ev.container_id() << " "
                        << r.envelope().event().type_url() << " " << r.envelope().namespace_()
                        << "\n";
                    call.Reply(berth::pb::Empty());
                  });
  if (absl::Status st = server.Start(); !st.ok()) return Fail(st);
  std::ofstream(out, std::ios::app).flush();
  return loop->Run().ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: shim-rpc SOCKET METHOD [key=value...] | shim-rpc events-sink SOCKET FILE\n");
    return 2;
  }
  if (std::string(argv[1]) == "events-sink" && argc == 4) return EventsSink(argv[2], argv[3]);
  absl::StatusOr<BlockingClient> c = BlockingClient::Connect(argv[1]);
  if (!c.ok()) return Fail(c.status());
  std::string method = argv[2];
  if (method.rfind("probe-", 0) == 0) return Probe(*c, method);
  Args a;
  for (int i = 3; i < argc; ++i) {
    std::string kv = argv[i];
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Fail(absl::InvalidArgumentError("arguments are key=value"));
    a.kv[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return Call(*c, method, a);
}
