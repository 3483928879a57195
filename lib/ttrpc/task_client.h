// A typed, asynchronous client for a shim's Task service
// (containerd.task.v2.Task) over ttrpc::Client: each call parses the answer
// into its response type. Runs on the caller's EventLoop; every call has a
// deadline.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "containerd_shim.pb.h"
#include "lib/event_loop.h"
#include "lib/shim_api.h"
#include "lib/ttrpc/client.h"

namespace berth::ttrpc {

class TaskClient {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  static absl::StatusOr<std::unique_ptr<TaskClient>> Connect(EventLoop* loop,
                                                             absl::string_view address);
  bool closed() const { return client_->closed(); }

  void Create(const containerd::task::v2::CreateTaskRequest& r,
              Done<containerd::task::v2::CreateTaskResponse> done);
  void Start(const containerd::task::v2::StartRequest& r,
             Done<containerd::task::v2::StartResponse> done);
  void Delete(const containerd::task::v2::DeleteRequest& r,
              Done<containerd::task::v2::DeleteResponse> done);
  void Exec(const containerd::task::v2::ExecProcessRequest& r, Done<berth::pb::Empty> done);
  void State(const containerd::task::v2::StateRequest& r,
             Done<containerd::task::v2::StateResponse> done);
  void Pids(const containerd::task::v2::PidsRequest& r,
            Done<containerd::task::v2::PidsResponse> done);
  void Pause(const containerd::task::v2::PauseRequest& r, Done<berth::pb::Empty> done);
  void Resume(const containerd::task::v2::ResumeRequest& r, Done<berth::pb::Empty> done);
  void Kill(const containerd::task::v2::KillRequest& r, Done<berth::pb::Empty> done);
  void ResizePty(const containerd::task::v2::ResizePtyRequest& r, Done<berth::pb::Empty> done);
  void CloseIO(const containerd::task::v2::CloseIORequest& r, Done<berth::pb::Empty> done);
  void Update(const containerd::task::v2::UpdateTaskRequest& r, Done<berth::pb::Empty> done);
  // Wait has no deadline: it answers when the process exits.
  void Wait(const containerd::task::v2::WaitRequest& r,
            Done<containerd::task::v2::WaitResponse> done);
  void Stats(const containerd::task::v2::StatsRequest& r,
             Done<containerd::task::v2::StatsResponse> done);
  void Connect(const containerd::task::v2::ConnectRequest& r,
               Done<containerd::task::v2::ConnectResponse> done);
  void Shutdown(const containerd::task::v2::ShutdownRequest& r, Done<berth::pb::Empty> done);

  void set_timeout(absl::Duration timeout) { timeout_ = timeout; }

 private:
  explicit TaskClient(std::unique_ptr<Client> client) : client_(std::move(client)) {}
  template <typename Resp>
  void Call(absl::string_view method, const google::protobuf::MessageLite& request, Done<Resp> done,
            absl::Duration timeout);

  std::unique_ptr<Client> client_;
  absl::Duration timeout_ = absl::Seconds(10);
};

}  // namespace berth::ttrpc
