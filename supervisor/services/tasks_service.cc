#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "berth/v1/tasks.grpc.pb.h"
#include "supervisor/daemon/spec_builder.h"
#include "supervisor/services/convert.h"
#include "supervisor/services/service_list.h"

namespace berth::supervisor {
namespace {

StdioConfig FromProto(const v1::Stdio& s) { return {s.attach(), s.stdin(), s.terminal()}; }

void ToProto(const ExitInfo& e, v1::DeleteTaskResponse* out) {
  out->set_exit_status(e.exit_status);
  out->set_pid(e.pid);
  supervisor::ToProto(e.exited_at, out->mutable_exited_at());
}

class TasksService final : public v1::Tasks::Service {
 public:
  explicit TasksService(Engine* engine) : engine_(engine) {}

  // Runs an engine call taking a Done<T> and waits for it.
  template <typename T, typename F>
  absl::StatusOr<T> Call(F&& start) {
    return engine_->Sync<absl::StatusOr<T>>([&](auto reply) { start(Done<T>(reply)); });
  }

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateTaskRequest* req,
                      v1::CreateTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto t = Call<TaskView>([&](Done<TaskView> d) {
      engine_->CreateTask(*ns, req->container_id(), FromProto(req->stdio()), d);
    });
    if (!t.ok()) return ToGrpc(t.status());
    supervisor::ToProto(*t, resp->mutable_task());
    return grpc::Status::OK;
  }

  grpc::Status Start(grpc::ServerContext* ctx, const v1::StartTaskRequest* req,
                     v1::StartTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto pid = Call<uint32_t>(
        [&](Done<uint32_t> d) { engine_->Start(*ns, req->container_id(), req->exec_id(), d); });
    if (!pid.ok()) return ToGrpc(pid.status());
    resp->set_pid(*pid);
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetTaskRequest* req,
                   v1::GetTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto t = engine_->Sync<absl::StatusOr<TaskView>>(
        [&](auto reply) { reply(engine_->GetTask(*ns, req->container_id())); });
    if (!t.ok()) return ToGrpc(t.status());
    supervisor::ToProto(*t, resp->mutable_task());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListTasksRequest* req,
                    v1::ListTasksResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto tasks =
        engine_->Sync<std::vector<TaskView>>([&](auto reply) { reply(engine_->ListTasks(*ns)); });
    for (const TaskView& t : tasks) {
      v1::Task out;
      supervisor::ToProto(t, &out);
      if (!req->status().empty() &&
          absl::AsciiStrToLower(v1::TaskStatus_Name(out.init().status())) != req->status()) {
        continue;
      }
      *resp->add_tasks() = std::move(out);
    }
    return grpc::Status::OK;
  }

  grpc::Status Kill(grpc::ServerContext* ctx, const v1::KillTaskRequest* req,
                    v1::KillTaskResponse*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    int signal = req->signal() == 0 ? SIGTERM : static_cast<int>(req->signal());
    if (signal < 1 || signal > 64) {
      return ToGrpc(
          absl::InvalidArgumentError(absl::StrCat("signal: ", req->signal(), " is not a signal")));
    }
    auto r = Call<Nothing>([&](Done<Nothing> d) {
      engine_->Kill(*ns, req->container_id(), req->exec_id(), signal, req->all(), d);
    });
    return ToGrpc(r.status());
  }

  grpc::Status Wait(grpc::ServerContext* ctx, const v1::WaitTaskRequest* req,
                    v1::WaitTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    std::string id = req->container_id(), exec_id = req->exec_id();
    auto exit = AwaitOrCancel<ExitInfo>(
        ctx, engine_->Later<absl::StatusOr<ExitInfo>>([this, ns = *ns, id, exec_id](auto reply) {
          engine_->Wait(ns, id, exec_id, Done<ExitInfo>(reply));
        }));
    if (!exit.ok()) return ToGrpc(exit.status());
    resp->set_exit_status(exit->exit_status);
    supervisor::ToProto(exit->exited_at, resp->mutable_exited_at());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteTaskRequest* req,
                      v1::DeleteTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<ExitInfo>(
        [&](Done<ExitInfo> d) { engine_->DeleteTask(*ns, req->container_id(), req->force(), d); });
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(*r, resp);
    return grpc::Status::OK;
  }

  grpc::Status Exec(grpc::ServerContext* ctx, const v1::ExecProcessRequest* req,
                    v1::ExecProcessResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto spec = engine_->Sync<absl::StatusOr<ContainerView>>(
        [&](auto reply) { reply(engine_->GetContainer(*ns, req->container_id())); });
    if (!spec.ok()) return ToGrpc(spec.status());
    ExecSettings settings{{req->args().begin(), req->args().end()},
                          {req->env().begin(), req->env().end()},
                          req->cwd(),
                          req->user(),
                          req->stdio().terminal()};
    absl::StatusOr<std::string> process = BuildExecProcess(spec->record.spec_json, settings);
    if (!process.ok()) return ToGrpc(process.status());
    ExecConfig exec{req->exec_id(), *process, FromProto(req->stdio())};
    auto id = Call<std::string>(
        [&](Done<std::string> d) { engine_->Exec(*ns, spec->record.id, exec, d); });
    if (!id.ok()) return ToGrpc(id.status());
    resp->set_exec_id(*id);
    return grpc::Status::OK;
  }

  grpc::Status DeleteProcess(grpc::ServerContext* ctx, const v1::DeleteProcessRequest* req,
                             v1::DeleteTaskResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<ExitInfo>([&](Done<ExitInfo> d) {
      engine_->DeleteProcess(*ns, req->container_id(), req->exec_id(), d);
    });
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(*r, resp);
    return grpc::Status::OK;
  }

  grpc::Status ResizePty(grpc::ServerContext* ctx, const v1::ResizePtyRequest* req,
                         v1::Empty*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<Nothing>([&](Done<Nothing> d) {
      engine_->ResizePty(*ns, req->container_id(), req->exec_id(), req->width(), req->height(), d);
    });
    return ToGrpc(r.status());
  }

  grpc::Status CloseIO(grpc::ServerContext* ctx, const v1::CloseIORequest* req,
                       v1::Empty*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<Nothing>(
        [&](Done<Nothing> d) { engine_->CloseIO(*ns, req->container_id(), req->exec_id(), d); });
    return ToGrpc(r.status());
  }

  grpc::Status Pause(grpc::ServerContext* ctx, const v1::PauseTaskRequest* req,
                     v1::Empty*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<Nothing>([&](Done<Nothing> d) { engine_->Pause(*ns, req->container_id(), d); });
    return ToGrpc(r.status());
  }

  grpc::Status Resume(grpc::ServerContext* ctx, const v1::ResumeTaskRequest* req,
                      v1::Empty*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = Call<Nothing>([&](Done<Nothing> d) { engine_->Resume(*ns, req->container_id(), d); });
    return ToGrpc(r.status());
  }

  grpc::Status ListPids(grpc::ServerContext* ctx, const v1::ListPidsRequest* req,
                        v1::ListPidsResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto pids = Call<std::vector<uint32_t>>(
        [&](Done<std::vector<uint32_t>> d) { engine_->ListPids(*ns, req->container_id(), d); });
    if (!pids.ok()) return ToGrpc(pids.status());
    for (uint32_t p : *pids) resp->add_pids(p);
    return grpc::Status::OK;
  }

  grpc::Status Metrics(grpc::ServerContext* ctx, const v1::MetricsRequest* req,
                       v1::MetricsResponse* resp) override;

  grpc::Status Update(grpc::ServerContext* ctx, const v1::UpdateTaskRequest* req,
                      v1::Empty*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    if (req->resources_json().empty()) {
      return ToGrpc(absl::InvalidArgumentError("resources_json: empty"));
    }
    auto r = Call<Nothing>([&](Done<Nothing> d) {
      engine_->Update(*ns, req->container_id(), req->resources_json(), d);
    });
    return ToGrpc(r.status());
  }

  grpc::Status Attach(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::AttachResponse, v1::AttachRequest>* stream) override;

 private:
  Engine* engine_;
};

grpc::Status TasksService::Attach(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::AttachResponse, v1::AttachRequest>* stream) {
  absl::StatusOr<std::string> ns_or = CallNamespace(ctx);
  if (!ns_or.ok()) return ToGrpc(ns_or.status());
  const std::string ns = *ns_or;
  v1::AttachRequest first;
  if (!stream->Read(&first)) {
    return ToGrpc(absl::InvalidArgumentError("Attach: the first message must name the process"));
  }
  auto a = std::make_shared<Attachment>();
  absl::Status st = engine_->Sync<absl::Status>(
      [&](auto reply) { reply(engine_->Attach(ns, first.container_id(), first.exec_id(), a)); });
  if (!st.ok()) return ToGrpc(st);
  // The id the engine resolved is the one to write to.
  auto view = engine_->Sync<absl::StatusOr<ContainerView>>(
      [&](auto reply) { reply(engine_->GetContainer(ns, first.container_id())); });
  if (!view.ok()) return ToGrpc(view.status());
  const std::string id = view->record.id, exec_id = first.exec_id();

  // Input, resizes and end of input from the client, on their own thread.
  std::atomic<bool> reader_done = false;
  std::thread reader([&] {
    v1::AttachRequest r;
    while (stream->Read(&r)) {
      if (!r.stdin().empty()) {
        engine_->Post([this, ns, id, exec_id, data = r.stdin()] {
          engine_->WriteStdin(ns, id, exec_id, data).IgnoreError();
        });
      }
      if (r.width() != 0 && r.height() != 0) {
        uint32_t w = r.width(), h = r.height();
        engine_->Post([this, ns, id, exec_id, w, h] {
          engine_->ResizePty(ns, id, exec_id, w, h, [](auto) {});
        });
      }
      if (r.close_stdin()) {
        engine_->Post([this, ns, id, exec_id] { engine_->CloseIO(ns, id, exec_id, [](auto) {}); });
      }
    }
    reader_done = true;
  });
  // Output to the client until the process exits or the client goes away.
  for (;;) {
    bool finished = false;
    std::optional<v1::AttachResponse> msg = a->Next(absl::Milliseconds(500), &finished);
    if (msg && !stream->Write(*msg)) break;
    if (finished || ctx->IsCancelled()) break;
  }
  a->Cancel();
  // A client that keeps its side open after the exit is let go after a moment.
  for (int i = 0; i < 20 && !reader_done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!reader_done) ctx->TryCancel();
  reader.join();
  return grpc::Status::OK;
}

grpc::Status TasksService::Metrics(grpc::ServerContext* ctx, const v1::MetricsRequest* req,
                                   v1::MetricsResponse* resp) {
  absl::StatusOr<std::string> ns = CallNamespace(ctx);
  if (!ns.ok()) return ToGrpc(ns.status());
  auto stats =
      Call<containerd::task::v2::StatsResponse>([&](Done<containerd::task::v2::StatsResponse> d) {
        engine_->Stats(*ns, req->container_id(), d);
      });
  if (!stats.ok()) return ToGrpc(stats.status());
  resp->set_container_id(req->container_id());
  supervisor::ToProto(absl::Now(), resp->mutable_timestamp());
  return ToGrpc(FillMetrics(*stats, resp));
}

}  // namespace

std::unique_ptr<grpc::Service> MakeTasksService(Engine* engine) {
  return std::make_unique<TasksService>(engine);
}

}  // namespace berth::supervisor
