// containerd's runtime v2 Task service ("containerd.task.v2.Task") for one
// container: its init process and its exec'd processes, driven through the
// OCI runtime binary, with every exit recorded (even with no client
// connected) and published as an event.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "containerd_shim.pb.h"
#include "containerd_task_types.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/server.h"
#include "shim/oom_watcher.h"
#include "shim/process_io.h"
#include "shim/publisher.h"
#include "shim/runtime_client.h"
#include "shim/shim_options.h"

namespace berth::shim {

struct Process {
  std::string exec_id;  // empty for the init
  pid_t pid = 0;
  containerd::v1::types::Status status = containerd::v1::types::CREATED;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();
  StdioPaths stdio;
  std::string spec_json;  // an exec'd process's runtime-spec Process, as JSON
  std::unique_ptr<ProcessIo> io;
  std::vector<ttrpc::Call> waiters;
};

class TaskService {
 public:
  TaskService(EventLoop* loop, std::string ns, std::string id, std::string bundle,
              Publisher* publisher);

  void Register(ttrpc::Server* server);
  // From the SIGCHLD reaper: `pid` ended with waitpid status `wait_status`.
  void OnChildExit(pid_t pid, int wait_status);
  // Runs once Shutdown found nothing left to serve.
  void OnShutdown(std::function<void()> done) { on_shutdown_ = std::move(done); }
  bool shutdown_requested() const { return shutdown_; }
  // Returns freed heap memory to the kernel once the shim goes quiet.
  void TrimSoon();
  void set_hold_stdin(bool hold) { hold_stdin_ = hold; }

 private:
  void Create(ttrpc::Call call, const containerd::task::v2::CreateTaskRequest& r);
  void Start(ttrpc::Call call, const containerd::task::v2::StartRequest& r);
  void Delete(ttrpc::Call call, const containerd::task::v2::DeleteRequest& r);
  void Exec(ttrpc::Call call, const containerd::task::v2::ExecProcessRequest& r);
  void State(ttrpc::Call call, const containerd::task::v2::StateRequest& r);
  void Pids(ttrpc::Call call, const containerd::task::v2::PidsRequest& r);
  void Pause(ttrpc::Call call, const containerd::task::v2::PauseRequest& r);
  void Resume(ttrpc::Call call, const containerd::task::v2::ResumeRequest& r);
  void Kill(ttrpc::Call call, const containerd::task::v2::KillRequest& r);
  void ResizePty(ttrpc::Call call, const containerd::task::v2::ResizePtyRequest& r);
  void CloseIO(ttrpc::Call call, const containerd::task::v2::CloseIORequest& r);
  void Update(ttrpc::Call call, const containerd::task::v2::UpdateTaskRequest& r);
  void Wait(ttrpc::Call call, const containerd::task::v2::WaitRequest& r);
  void Stats(ttrpc::Call call, const containerd::task::v2::StatsRequest& r);
  void Connect(ttrpc::Call call, const containerd::task::v2::ConnectRequest& r);
  void Shutdown(ttrpc::Call call, const containerd::task::v2::ShutdownRequest& r);

  absl::Status CreateInit(const containerd::task::v2::CreateTaskRequest& r, pid_t* pid);
  absl::StatusOr<pid_t> StartExec(Process& p);
  // The container's process `exec_id` ("" for the init), or NOT_FOUND.
  absl::StatusOr<Process*> Find(absl::string_view id, absl::string_view exec_id);
  absl::Status CheckContainer(absl::string_view id) const;
  void Exited(Process& p, int wait_status);
  void CleanupInit();

  EventLoop* loop_;
  std::string namespace_;
  std::string id_;
  std::string bundle_;
  Publisher* publisher_;
  ShimOptions options_;
  std::optional<RuntimeClient> runtime_;
  std::unique_ptr<Process> init_;  // null until Create, and after Delete
  std::map<std::string, std::unique_ptr<Process>> execs_;
  std::vector<std::string> rootfs_mounts_;  // what Create mounted, to unmount
  std::unique_ptr<OomWatcher> oom_;
  bool shares_pid_namespace_ = false;  // kill every process when the init exits
  bool shutdown_ = false;
  bool trim_scheduled_ = false;
  bool hold_stdin_ = false;
  std::function<void()> on_shutdown_;
};

}  // namespace berth::shim
