#include "shim/task_service.h"

#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "containerd_events.pb.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_tree.h"
#include "lib/log.h"
#include "lib/pb_timestamp.h"
#include "lib/proc.h"
#include "lib/shim_api.h"
#include "lib/version.h"
#include "runc_options.pb.h"
#include "shim/metrics.h"
#include "shim/rootfs.h"

namespace berth::shim {
namespace {

namespace v2 = containerd::task::v2;
using containerd::v1::types::Status;

using shim_api::kTaskService;

// Registers `method`, parsing its request type before calling the member.
template <typename Request>
void Route(ttrpc::Server* server, const char* method, TaskService* self,
           void (TaskService::*handler)(ttrpc::Call, const Request&)) {
  server->Register(
      kTaskService, method, [self, handler, method](ttrpc::Call call, absl::string_view payload) {
        Request request;
        if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
          call.Fail(
              absl::InvalidArgumentError(absl::StrCat(method, ": the request does not parse")));
          return;
        }
        (self->*handler)(std::move(call), request);
        self->TrimSoon();
      });
}

// A config without its own pid namespace shares the host's (or another
// container's): its processes do not die with the init, so the shim kills them.
bool SharesPidNamespace(const std::string& bundle) {
  absl::StatusOr<std::string> text = ReadFile(absl::StrCat(bundle, "/", shim_api::kConfigFile));
  if (!text.ok()) return false;
  auto doc = json::Document::Parse(*text, "config.json");
  if (!doc.ok()) return false;
  for (const json::Value& ns : (*doc)->root().Get("linux").Get("namespaces").Elements()) {
    absl::StatusOr<std::string> type = ns.Get("type").AsString();
    absl::StatusOr<std::string> path = ns.Get("path").AsString();
    if (type.ok() && *type == "pid") return path.ok() && !path->empty();
  }
  return true;
}

uint32_t ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return static_cast<uint32_t>(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return 128 + static_cast<uint32_t>(WTERMSIG(wait_status));
  return 255;
}

}  // namespace

TaskService::TaskService(EventLoop* loop, std::string ns, std::string id, std::string bundle,
                         Publisher* publisher)
    : loop_(loop),
      namespace_(std::move(ns)),
      id_(std::move(id)),
      bundle_(std::move(bundle)),
      publisher_(publisher) {}

void TaskService::Register(ttrpc::Server* server) {
  Route(server, "State", this, &TaskService::State);
  Route(server, "Create", this, &TaskService::Create);
  Route(server, "Start", this, &TaskService::Start);
  Route(server, "Delete", this, &TaskService::Delete);
  Route(server, "Pids", this, &TaskService::Pids);
  Route(server, "Pause", this, &TaskService::Pause);
  Route(server, "Resume", this, &TaskService::Resume);
  Route(server, "Kill", this, &TaskService::Kill);
  Route(server, "Exec", this, &TaskService::Exec);
  Route(server, "ResizePty", this, &TaskService::ResizePty);
  Route(server, "CloseIO", this, &TaskService::CloseIO);
  Route(server, "Update", this, &TaskService::Update);
  Route(server, "Wait", this, &TaskService::Wait);
  Route(server, "Stats", this, &TaskService::Stats);
  Route(server, "Connect", this, &TaskService::Connect);
  Route(server, "Shutdown", this, &TaskService::Shutdown);
  server->Register(kTaskService, "Checkpoint", [](ttrpc::Call call, absl::string_view) {
    call.Fail(absl::UnimplementedError("checkpoint: berth-shim has no CRIU support"));
  });
}

absl::Status TaskService::CheckContainer(absl::string_view id) const {
  if (!init_ || id != id_) {
    return absl::NotFoundError(absl::StrCat("container ", id, " not found in this shim"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Process*> TaskService::Find(absl::string_view id, absl::string_view exec_id) {
  BERTH_RETURN_IF_ERROR(CheckContainer(id));
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(std::string(exec_id));
  if (it == execs_.end()) {
    return absl::NotFoundError(
        absl::StrCat("process ", exec_id, " does not exist in container ", id));
  }
  return it->second.get();
}

// --- Create -----------------------------------------------------------------

void TaskService::Create(ttrpc::Call call, const v2::CreateTaskRequest& r) {
  if (init_) {
    call.Fail(
        absl::AlreadyExistsError(absl::StrCat("container ", id_, " already exists in this shim")));
    return;
  }
  if (r.id() != id_) {
    call.Fail(
        absl::InvalidArgumentError(absl::StrCat("id: this shim serves ", id_, ", not ", r.id())));
    return;
  }
  if (!r.checkpoint().empty()) {
    call.Fail(absl::UnimplementedError("checkpoint: restoring is not supported (no CRIU support)"));
    return;
  }
  pid_t pid = 0;
  absl::Status st = CreateInit(r, &pid);
  if (!st.ok()) {
    CleanupInit();
    call.Fail(st);
    return;
  }
  containerd::events::TaskCreate ev;
  ev.set_container_id(id_);
  ev.set_bundle(bundle_);
  *ev.mutable_rootfs() = r.rootfs();
  ev.mutable_io()->set_stdin(r.stdin());
  ev.mutable_io()->set_stdout(r.stdout());
  ev.mutable_io()->set_stderr(r.stderr());
  ev.mutable_io()->set_terminal(r.terminal());
  ev.set_pid(static_cast<uint32_t>(pid));
  publisher_->Publish("/tasks/create", ev);
  v2::CreateTaskResponse resp;
  resp.set_pid(static_cast<uint32_t>(pid));
  call.Reply(resp);
}

absl::Status TaskService::CreateInit(const v2::CreateTaskRequest& r, pid_t* pid) {
  BERTH_ASSIGN_OR_RETURN(options_, ParseOptions(r.options()));
  BERTH_RETURN_IF_ERROR(SaveOptions(bundle_, options_));
  runtime_.emplace(RuntimeBinary(options_), RuntimeRoot(options_, namespace_),
                   bundle_ + "/log.json", options_.systemd_cgroup());
  init_ = std::make_unique<Process>();
  init_->stdio = {r.stdin(), r.stdout(), r.stderr(), r.terminal()};

  std::string rootfs = absl::StrCat(bundle_, "/", shim_api::kRootfsDir);
  BERTH_ASSIGN_OR_RETURN(int mounted, MountRootfs(r.rootfs(), rootfs));
  rootfs_mounts_.assign(static_cast<size_t>(mounted), rootfs);

  BERTH_ASSIGN_OR_RETURN(init_->io, ProcessIo::Open(loop_, init_->stdio, options_.io_uid(),
                                                    options_.io_gid(), hold_stdin_));
  std::optional<ConsoleSocket> console;
  if (r.terminal()) {
    BERTH_ASSIGN_OR_RETURN(console, ConsoleSocket::Create());
  }
  std::string pid_file = absl::StrCat(bundle_, "/", shim_api::kInitPidFile);
  BERTH_RETURN_IF_ERROR(runtime_->Create(id_, bundle_, pid_file, console ? console->path() : "",
                                         options_.no_pivot_root(), options_.no_new_keyring(),
                                         init_->io->ChildStdio()));
  absl::StatusOr<pid_t> p = proc::ReadPidFile(pid_file);
  if (!p.ok()) {
    runtime_->Delete(id_, true).IgnoreError();
    return p.status();
  }
  init_->pid = *p;
  init_->io->StartCopying();
  if (console) {
    absl::StatusOr<UniqueFd> master = console->Receive();
    absl::Status st = master.ok() ? init_->io->AttachConsole(std::move(*master)) : master.status();
    if (!st.ok()) {
      runtime_->Delete(id_, true).IgnoreError();
      return st;
    }
  }
  shares_pid_namespace_ = SharesPidNamespace(bundle_);
  absl::StatusOr<std::unique_ptr<OomWatcher>> oom = OomWatcher::Start(loop_, init_->pid, [this] {
    containerd::events::TaskOOM ev;
    ev.set_container_id(id_);
    publisher_->Publish("/tasks/oom", ev);
  });
  if (oom.ok()) {
    oom_ = std::move(*oom);
  } else {
    log::Warn(absl::StrCat("no OOM events for ", id_, ": ", oom.status().message()));
  }
  *pid = init_->pid;
  return absl::OkStatus();
}

// Undoes a failed Create, and finishes a Delete.
void TaskService::CleanupInit() {
  oom_.reset();
  if (init_) init_->io.reset();
  if (!rootfs_mounts_.empty()) {
    absl::Status st =
        UnmountRootfs(rootfs_mounts_.front(), static_cast<int>(rootfs_mounts_.size()));
    if (!st.ok()) log::Warn(std::string(st.message()));
    rootfs_mounts_.clear();
  }
  init_.reset();
}

// --- Start, Exec ------------------------------------------------------------

void TaskService::Start(ttrpc::Call call, const v2::StartRequest& r) {
  absl::StatusOr<Process*> p = Find(r.id(), r.exec_id());
  if (!p.ok()) return call.Fail(p.status());
  Process& proc = **p;
  if (proc.status != Status::CREATED) {
    return call.Fail(absl::FailedPreconditionError(absl::StrCat(
        "process ", r.exec_id().empty() ? r.id() : r.exec_id(), " is not in the created state")));
  }
  if (r.exec_id().empty()) {
    if (absl::Status st = runtime_->Start(id_); !st.ok()) return call.Fail(st);
    if (proc.status == Status::CREATED) proc.status = Status::RUNNING;  // unless it already exited
    containerd::events::TaskStart ev;
    ev.set_container_id(id_);
    ev.set_pid(static_cast<uint32_t>(proc.pid));
    publisher_->Publish("/tasks/start", ev);
  } else {
    if (init_->status != Status::RUNNING) {
      return call.Fail(
          absl::FailedPreconditionError(absl::StrCat("container ", id_, " is not running")));
    }
    absl::StatusOr<pid_t> pid = StartExec(proc);
    if (!pid.ok()) {
      proc.io.reset();
      return call.Fail(pid.status());
    }
    containerd::events::TaskExecStarted ev;
    ev.set_container_id(id_);
    ev.set_exec_id(proc.exec_id);
    ev.set_pid(static_cast<uint32_t>(proc.pid));
    publisher_->Publish("/tasks/exec-started", ev);
  }
  v2::StartResponse resp;
  resp.set_pid(static_cast<uint32_t>(proc.pid));
  call.Reply(resp);
}

absl::StatusOr<pid_t> TaskService::StartExec(Process& p) {
  BERTH_ASSIGN_OR_RETURN(
      p.io, ProcessIo::Open(loop_, p.stdio, options_.io_uid(), options_.io_gid(), hold_stdin_));
  std::optional<ConsoleSocket> console;
  if (p.stdio.terminal) {
    BERTH_ASSIGN_OR_RETURN(console, ConsoleSocket::Create());
  }
  std::string base = absl::StrCat(bundle_, "/exec-", p.exec_id);
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(base + ".json", p.spec_json, 0600));
  absl::Status st = runtime_->Exec(id_, base + ".json", base + ".pid",
                                   console ? console->path() : "", p.io->ChildStdio());
  unlink((base + ".json").c_str());
  BERTH_RETURN_IF_ERROR(st);
  absl::StatusOr<pid_t> pid = proc::ReadPidFile(base + ".pid");
  unlink((base + ".pid").c_str());
  BERTH_RETURN_IF_ERROR(pid.status());
  p.pid = *pid;
  p.status = Status::RUNNING;
  p.io->StartCopying();
  if (console) {
    BERTH_ASSIGN_OR_RETURN(UniqueFd master, console->Receive());
    BERTH_RETURN_IF_ERROR(p.io->AttachConsole(std::move(master)));
  }
  return p.pid;
}

void TaskService::Exec(ttrpc::Call call, const v2::ExecProcessRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  if (r.exec_id().empty())
    return call.Fail(absl::InvalidArgumentError("exec_id: must not be empty"));
  if (init_->status == Status::STOPPED) {
    return call.Fail(absl::FailedPreconditionError(absl::StrCat("container ", id_, " is stopped")));
  }
  if (execs_.count(r.exec_id()) != 0) {
    return call.Fail(
        absl::AlreadyExistsError(absl::StrCat("id ", r.exec_id(), " is already in use")));
  }
  if (r.spec().value().empty())
    return call.Fail(absl::InvalidArgumentError("spec: the process is missing"));
  auto p = std::make_unique<Process>();
  p->exec_id = r.exec_id();
  p->stdio = {r.stdin(), r.stdout(), r.stderr(), r.terminal()};
  p->spec_json = r.spec().value();
  execs_[r.exec_id()] = std::move(p);
  containerd::events::TaskExecAdded ev;
  ev.set_container_id(id_);
  ev.set_exec_id(r.exec_id());
  publisher_->Publish("/tasks/exec-added", ev);
  call.Reply(berth::pb::Empty());
}

// --- Exits, Wait, Delete ----------------------------------------------------

void TaskService::TrimSoon() {
  if (trim_scheduled_) return;
  trim_scheduled_ = true;
  loop_->After(absl::Milliseconds(200), [this] {
    trim_scheduled_ = false;
    // Hand the heap pages that requests and runtime calls used back to the
    // kernel: a sleeping container's shim should hold almost nothing.
    malloc_trim(0);
  });
}

void TaskService::OnChildExit(pid_t pid, int wait_status) {
  TrimSoon();
  if (init_ && init_->pid == pid && init_->status != Status::STOPPED) {
    Exited(*init_, wait_status);
    return;
  }
  for (auto& [id, p] : execs_) {
    if (p->pid == pid && p->status != Status::STOPPED) {
      Exited(*p, wait_status);
      return;
    }
  }
  // Anything else is an orphan of the container reparented to us: reaped, done.
}

void TaskService::Exited(Process& p, int wait_status) {
  p.status = Status::STOPPED;
  p.exit_status = ExitCode(wait_status);
  p.exited_at = absl::Now();
  if (p.io) p.io->Drain();
  if (&p == init_.get()) {
    // Exec'd processes of a container that shares its pid namespace outlive
    // its init; runc's shim kills them, and so do we.
    if (shares_pid_namespace_) runtime_->Kill(id_, SIGKILL, true).IgnoreError();
    for (auto& [id, e] : execs_) {
      if (e->status == Status::RUNNING && kill(e->pid, SIGKILL) != 0) {
        log::Debug(absl::StrCat("kill exec ", id, ": already gone"));
      }
    }
  }
  containerd::events::TaskExit ev;
  ev.set_container_id(id_);
  ev.set_id(p.exec_id.empty() ? id_ : p.exec_id);
  ev.set_pid(static_cast<uint32_t>(p.pid));
  ev.set_exit_status(p.exit_status);
  ToTimestamp(p.exited_at, ev.mutable_exited_at());
  publisher_->Publish("/tasks/exit", ev);
  v2::WaitResponse resp;
  resp.set_exit_status(p.exit_status);
  ToTimestamp(p.exited_at, resp.mutable_exited_at());
  for (ttrpc::Call& waiter : p.waiters) waiter.Reply(resp);
  p.waiters.clear();
}

void TaskService::Wait(ttrpc::Call call, const v2::WaitRequest& r) {
  absl::StatusOr<Process*> p = Find(r.id(), r.exec_id());
  if (!p.ok()) return call.Fail(p.status());
  if ((*p)->status != Status::STOPPED) {
    (*p)->waiters.push_back(std::move(call));
    return;
  }
  v2::WaitResponse resp;
  resp.set_exit_status((*p)->exit_status);
  ToTimestamp((*p)->exited_at, resp.mutable_exited_at());
  call.Reply(resp);
}

void TaskService::Delete(ttrpc::Call call, const v2::DeleteRequest& r) {
  absl::StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return call.Fail(found.status());
  Process& p = **found;
  if (p.status != Status::STOPPED && p.status != Status::CREATED) {
    return call.Fail(absl::FailedPreconditionError(absl::StrCat(
        "cannot delete ", r.exec_id().empty() ? r.id() : r.exec_id(), ": it is still running")));
  }
  v2::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(p.pid));
  resp.set_exit_status(p.exit_status);
  ToTimestamp(p.exited_at, resp.mutable_exited_at());
  if (!r.exec_id().empty()) {
    execs_.erase(r.exec_id());
    return call.Reply(resp);
  }
  // Like containerd's runc shim: a container the runtime no longer knows is
  // deleted already (a retry after a Delete that failed half-way).
  if (absl::Status st = runtime_->Delete(id_, p.status == Status::CREATED);
      !st.ok() && !absl::StrContains(st.message(), "does not exist")) {
    return call.Fail(st);
  }
  if (p.status == Status::CREATED) {
    // The runtime killed the never-started init; its exit is reaped later.
    p.status = Status::STOPPED;
    p.exit_status = 128 + SIGKILL;
    p.exited_at = absl::Now();
    resp.set_exit_status(p.exit_status);
    ToTimestamp(p.exited_at, resp.mutable_exited_at());
  }
  for (ttrpc::Call& waiter : p.waiters) waiter.Fail(absl::NotFoundError("the task was deleted"));
  execs_.clear();
  CleanupInit();
  containerd::events::TaskDelete ev;
  ev.set_container_id(id_);
  ev.set_pid(resp.pid());
  ev.set_exit_status(resp.exit_status());
  *ev.mutable_exited_at() = resp.exited_at();
  publisher_->Publish("/tasks/delete", ev);
  call.Reply(resp);
}

// --- Queries and control ----------------------------------------------------

void TaskService::State(ttrpc::Call call, const v2::StateRequest& r) {
  absl::StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return call.Fail(found.status());
  const Process& p = **found;
  v2::StateResponse resp;
  resp.set_id(r.exec_id().empty() ? id_ : p.exec_id);
  resp.set_bundle(bundle_);
  resp.set_pid(static_cast<uint32_t>(p.pid));
  resp.set_status(p.status);
  resp.set_stdin(p.stdio.in);
  resp.set_stdout(p.stdio.out);
  resp.set_stderr(p.stdio.err);
  resp.set_terminal(p.stdio.terminal);
  resp.set_exit_status(p.exit_status);
  ToTimestamp(p.exited_at, resp.mutable_exited_at());
  resp.set_exec_id(p.exec_id);
  call.Reply(resp);
}

void TaskService::Pids(ttrpc::Call call, const v2::PidsRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  absl::StatusOr<std::vector<pid_t>> pids = runtime_->Ps(id_);
  if (!pids.ok()) return call.Fail(pids.status());
  v2::PidsResponse resp;
  for (pid_t pid : *pids) {
    auto* info = resp.add_processes();
    info->set_pid(static_cast<uint32_t>(pid));
    for (const auto& [exec_id, e] : execs_) {
      if (e->pid == pid && e->status == Status::RUNNING) {
        containerd::runc::v1::ProcessDetails details;
        details.set_exec_id(exec_id);
        info->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
        info->mutable_info()->set_value(details.SerializeAsString());
      }
    }
  }
  call.Reply(resp);
}

void TaskService::Pause(ttrpc::Call call, const v2::PauseRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  if (absl::Status st = runtime_->Pause(id_); !st.ok()) return call.Fail(st);
  if (init_->status == Status::RUNNING) init_->status = Status::PAUSED;
  containerd::events::TaskPaused ev;
  ev.set_container_id(id_);
  publisher_->Publish("/tasks/paused", ev);
  call.Reply(berth::pb::Empty());
}

void TaskService::Resume(ttrpc::Call call, const v2::ResumeRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  if (absl::Status st = runtime_->Resume(id_); !st.ok()) return call.Fail(st);
  if (init_->status == Status::PAUSED) init_->status = Status::RUNNING;
  containerd::events::TaskResumed ev;
  ev.set_container_id(id_);
  publisher_->Publish("/tasks/resumed", ev);
  call.Reply(berth::pb::Empty());
}

void TaskService::Kill(ttrpc::Call call, const v2::KillRequest& r) {
  absl::StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return call.Fail(found.status());
  Process& p = **found;
  int sig = static_cast<int>(r.signal());
  if (r.exec_id().empty()) {
    if (p.status == Status::STOPPED && !r.all()) {
      return call.Fail(absl::NotFoundError(absl::StrCat("process ", id_, " already finished")));
    }
    if (absl::Status st = runtime_->Kill(id_, sig, r.all()); !st.ok()) return call.Fail(st);
  } else {
    if (p.status != Status::RUNNING) {
      return call.Fail(absl::NotFoundError(absl::StrCat("process ", p.exec_id, " is not running")));
    }
    if (kill(p.pid, sig) != 0)
      return call.Fail(ErrnoError(absl::StrCat("kill process ", p.exec_id)));
  }
  call.Reply(berth::pb::Empty());
}

void TaskService::ResizePty(ttrpc::Call call, const v2::ResizePtyRequest& r) {
  absl::StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return call.Fail(found.status());
  if (!(*found)->io) return call.Fail(absl::FailedPreconditionError("the process has no io"));
  if (absl::Status st = (*found)->io->Resize(r.width(), r.height()); !st.ok()) return call.Fail(st);
  call.Reply(berth::pb::Empty());
}

void TaskService::CloseIO(ttrpc::Call call, const v2::CloseIORequest& r) {
  absl::StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return call.Fail(found.status());
  if (r.stdin() && (*found)->io) (*found)->io->CloseStdin();
  call.Reply(berth::pb::Empty());
}

void TaskService::Update(ttrpc::Call call, const v2::UpdateTaskRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  // The resources arrive as the runtime-spec's LinuxResources in JSON, which
  // is what `update --resources FILE` reads.
  std::string file = bundle_ + "/update-resources.json";
  absl::Status st = WriteFileAtomic(file, r.resources().value(), 0600);
  if (st.ok()) st = runtime_->Update(id_, file);
  unlink(file.c_str());
  if (!st.ok()) return call.Fail(st);
  call.Reply(berth::pb::Empty());
}

void TaskService::Stats(ttrpc::Call call, const v2::StatsRequest& r) {
  if (absl::Status st = CheckContainer(r.id()); !st.ok()) return call.Fail(st);
  absl::StatusOr<std::string> json = runtime_->Stats(id_);
  if (!json.ok()) return call.Fail(json.status());
  absl::StatusOr<berth::pb::Any> metrics = MetricsFromStatsJson(*json, UnifiedCgroupHost());
  if (!metrics.ok()) return call.Fail(metrics.status());
  v2::StatsResponse resp;
  *resp.mutable_stats() = std::move(*metrics);
  call.Reply(resp);
}

void TaskService::Connect(ttrpc::Call call, const v2::ConnectRequest&) {
  v2::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(getpid()));
  if (init_) resp.set_task_pid(static_cast<uint32_t>(init_->pid));
  resp.set_version(absl::StrCat("berth-shim ", kVersion));
  call.Reply(resp);
}

void TaskService::Shutdown(ttrpc::Call call, const v2::ShutdownRequest& r) {
  // A shim with a container still to delete stays, unless told `now`.
  if (init_ && !r.now()) return call.Reply(berth::pb::Empty());
  shutdown_ = true;
  call.Reply(berth::pb::Empty());
  if (on_shutdown_) on_shutdown_();
}

}  // namespace berth::shim
