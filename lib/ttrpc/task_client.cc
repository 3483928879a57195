#include "lib/ttrpc/task_client.h"

#include "absl/strings/str_cat.h"

namespace berth::ttrpc {

namespace v2 = containerd::task::v2;

absl::StatusOr<std::unique_ptr<TaskClient>> TaskClient::Connect(EventLoop* loop,
                                                                absl::string_view address) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(loop, address);
  if (!client.ok()) return client.status();
  return std::unique_ptr<TaskClient>(new TaskClient(std::move(*client)));
}

template <typename Resp>
void TaskClient::Call(absl::string_view method, const google::protobuf::MessageLite& request,
                      Done<Resp> done, absl::Duration timeout) {
  std::string name(method);
  client_->Call(
      shim_api::kTaskService, method, request,
      [done = std::move(done), name](absl::StatusOr<std::string> payload) {
        if (!payload.ok()) {
          done(payload.status());
          return;
        }
        Resp response;
        if (!response.ParseFromString(*payload)) {
          done(absl::DataLossError(
              absl::StrCat("shim answered Task.", name, " with a malformed message")));
          return;
        }
        done(std::move(response));
      },
      timeout);
}

#define BERTH_TASK_METHOD(Name, Req, Resp)               \
  void TaskClient::Name(const Req& r, Done<Resp> done) { \
    Call<Resp>(#Name, r, std::move(done), timeout_);     \
  }

BERTH_TASK_METHOD(Create, v2::CreateTaskRequest, v2::CreateTaskResponse)
BERTH_TASK_METHOD(Start, v2::StartRequest, v2::StartResponse)
BERTH_TASK_METHOD(Delete, v2::DeleteRequest, v2::DeleteResponse)
BERTH_TASK_METHOD(Exec, v2::ExecProcessRequest, berth::pb::Empty)
BERTH_TASK_METHOD(State, v2::StateRequest, v2::StateResponse)
BERTH_TASK_METHOD(Pids, v2::PidsRequest, v2::PidsResponse)
BERTH_TASK_METHOD(Pause, v2::PauseRequest, berth::pb::Empty)
BERTH_TASK_METHOD(Resume, v2::ResumeRequest, berth::pb::Empty)
BERTH_TASK_METHOD(Kill, v2::KillRequest, berth::pb::Empty)
BERTH_TASK_METHOD(ResizePty, v2::ResizePtyRequest, berth::pb::Empty)
BERTH_TASK_METHOD(CloseIO, v2::CloseIORequest, berth::pb::Empty)
BERTH_TASK_METHOD(Update, v2::UpdateTaskRequest, berth::pb::Empty)
BERTH_TASK_METHOD(Stats, v2::StatsRequest, v2::StatsResponse)
BERTH_TASK_METHOD(Connect, v2::ConnectRequest, v2::ConnectResponse)
BERTH_TASK_METHOD(Shutdown, v2::ShutdownRequest, berth::pb::Empty)

#undef BERTH_TASK_METHOD

void TaskClient::Wait(const v2::WaitRequest& r, Done<v2::WaitResponse> done) {
  Call<v2::WaitResponse>("Wait", r, std::move(done), absl::InfiniteDuration());
}

}  // namespace berth::ttrpc
