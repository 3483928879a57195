// Tasks: one berth-shim per container, driven over ttrpc with a deadline on
// every call. State changes are committed (with their events) when the shim
// has answered; exits come from the shims' events.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "berth_pb.pb.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "lib/pb_timestamp.h"
#include "lib/proc.h"
#include "lib/shim_api.h"
#include "runc_options.pb.h"
#include "supervisor/daemon/engine.h"
#include "supervisor/daemon/ids.h"
#include "supervisor/daemon/spec_builder.h"
#include "supervisor/shims/shim_command.h"

namespace berth::supervisor {

namespace fs = std::filesystem;
namespace v2 = containerd::task::v2;

namespace {

constexpr char kProcessType[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";
constexpr char kResourcesType[] =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
constexpr absl::Duration kStateRetry = absl::Seconds(2);
// How long a forced delete waits for the exit its SIGKILL causes.
constexpr absl::Duration kForceKillWait = absl::Seconds(10);

// How long a deleted task's shim may take to end after its Shutdown.
constexpr absl::Duration kShimExitWait = absl::Seconds(3);

// Waits for `pid` (not our child: kill(0) tells) to end; SIGKILL once
// `patience` is over, then a second at most.
void WaitForExit(pid_t pid, absl::Duration patience) {
  if (pid <= 1) return;
  auto alive = [pid] { return kill(pid, 0) == 0; };
  absl::Time deadline = absl::Now() + patience;
  while (alive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  if (!alive()) return;
  kill(pid, SIGKILL);
  deadline = absl::Now() + absl::Seconds(1);
  while (alive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
}

}  // namespace

template <typename T>
Done<T> Engine::Noting(const std::string& ns, const std::string& id, Done<T> then) {
  return [this, ns, id, then = std::move(then)](absl::StatusOr<T> r) {
    NoteShimAnswer(ns, id, r.status());
    then(std::move(r));
  };
}

std::string Engine::ShimOptions(const ContainerRecord& c) const {
  containerd::runc::v1::Options options;
  options.set_binary_name(c.runtime == "runc" ? config_.runc_binary : config_.runtime_binary);
  options.set_root(config_.runtime_root());
  berth::pb::Any any;
  any.set_type_url(shim_api::kRuncOptionsType);
  any.set_value(options.SerializeAsString());
  return any.SerializeAsString();
}

ShimCommand Engine::Command(const std::string& ns, const std::string& id,
                            const std::string& options) const {
  ShimCommand cmd;
  cmd.binary = config_.shim_binary;
  cmd.ns = ns;
  cmd.id = id;
  cmd.bundle = BundleDir(ns, id);
  cmd.daemon_address = config_.address;
  cmd.events_address = config_.events_socket();
  cmd.socket_dir = config_.socket_dir();
  cmd.options = options;
  return cmd;
}

TaskRecord Engine::Persisted(const Task& t) const {
  TaskRecord r = t.record;
  r.pid = t.init.pid;
  r.status = t.init.status;
  r.exit_status = t.init.exit_status;
  r.exited_at = t.init.exited_at;
  return r;
}

absl::StatusOr<ttrpc::TaskClient*> Engine::Client(Task* t) {
  if (t->shim_gone) {
    return absl::FailedPreconditionError(absl::StrCat(
        "container ", t->record.container_id, ": its shim is gone (the task can only be deleted)"));
  }
  if (!t->client || t->client->closed()) {
    absl::StatusOr<std::unique_ptr<ttrpc::TaskClient>> c =
        ttrpc::TaskClient::Connect(loop_.get(), t->record.shim_address);
    if (!c.ok()) {
      return absl::UnavailableError(absl::StrCat("container ", t->record.container_id,
                                                 ": shim unreachable: ", c.status().message()));
    }
    t->client = std::move(*c);
    t->client->set_timeout(config_.shim_timeout);
  }
  return t->client.get();
}

void Engine::NoteShimAnswer(const std::string& ns, const std::string& id, const absl::Status& st) {
  auto it = containers_.find(Key(ns, id));
  if (it == containers_.end() || !it->second.task) return;
  Task* t = it->second.task.get();
  if (st.code() == absl::StatusCode::kDeadlineExceeded) {
    if (!t->unknown) log::Warn(absl::StrCat("container ", id, ": shim did not answer in time"));
    t->unknown = true;
    if (t->retry == 0) t->retry = loop_->After(kStateRetry, [this, ns, id] { RetryState(ns, id); });
  } else if (st.code() != absl::StatusCode::kUnavailable) {
    t->unknown = false;
  }
}

void Engine::RetryState(const std::string& ns, const std::string& id) {
  auto it = containers_.find(Key(ns, id));
  if (it == containers_.end() || !it->second.task) return;
  Task* t = it->second.task.get();
  t->retry = 0;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(t);
  if (!client.ok()) return;
  v2::StateRequest req;
  req.set_id(id);
  (*client)->State(req, [this, ns, id](absl::StatusOr<v2::StateResponse> r) {
    NoteShimAnswer(ns, id, r.status());
    if (r.ok() && r->status() == containerd::v1::types::STOPPED) {
      RecordExit(ns, id, "", r->pid(), r->exit_status(), FromTimestamp(r->exited_at()));
    }
  });
}

absl::StatusOr<std::unique_ptr<ProcessStdio>> Engine::OpenStdio(const std::string& bundle,
                                                                const std::string& name,
                                                                const StdioConfig& stdio,
                                                                bool existing) {
  if (!stdio.attach) return std::unique_ptr<ProcessStdio>();
  return ProcessStdio::Create(loop_.get(), bundle, name, stdio.stdin_open, stdio.terminal,
                              existing);
}

// ---- create ----

void Engine::CreateTask(const std::string& ns, const std::string& ref, StdioConfig stdio,
                        Done<TaskView> done) {
  absl::StatusOr<Container*> found = Find(ns, ref);
  if (!found.ok()) return done(found.status());
  Container* c = *found;
  const std::string id = c->record.id;
  if (c->task)
    return done(absl::AlreadyExistsError(absl::StrCat("container ", id, " already has a task")));
  if (c->busy)
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is busy")));
  absl::StatusOr<bool> terminal = SpecTerminal(c->record.spec_json);
  if (!terminal.ok()) return done(terminal.status());
  if (stdio.terminal != *terminal) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("stdio.terminal is ", stdio.terminal ? "true" : "false", " but container ", id,
                     "'s process.terminal is ", *terminal ? "true" : "false")));
  }
  if (stdio.terminal && !stdio.attach) {
    return done(absl::InvalidArgumentError(
        "stdio.terminal needs stdio.attach (a terminal needs a client)"));
  }
  c->busy = true;
  ShimCommand cmd = Command(ns, id, ShimOptions(c->record));
  std::string spec = c->record.spec_json;
  std::string upper_root = ContainerDir(ns, id);
  // A read-only image rootfs is still an overlay (of its layers); the spec's
  // root.readonly makes it read-only.
  bool read_only = c->record.rootfs_read_only && c->record.image_digest.empty();
  pid_t old_shim = std::exchange(c->old_shim, 0);
  Offload<absl::StatusOr<std::string>>(
      [cmd, spec, upper_root, read_only, old_shim]() -> absl::StatusOr<std::string> {
        WaitForExit(old_shim, kShimExitWait);
        BERTH_RETURN_IF_ERROR(MakeDirs(cmd.bundle, 0711));
        BERTH_RETURN_IF_ERROR(MakeDirs(absl::StrCat(cmd.bundle, "/", shim_api::kRootfsDir), 0755));
        BERTH_RETURN_IF_ERROR(
            WriteFileDurable(absl::StrCat(cmd.bundle, "/", shim_api::kConfigFile), spec, 0600));
        if (!read_only) {
          BERTH_RETURN_IF_ERROR(MakeDirs(upper_root + "/upper", 0755));
          BERTH_RETURN_IF_ERROR(MakeDirs(upper_root + "/work", 0700));
        }
        return StartShim(cmd);
      },
      [this, ns, id, stdio, done](absl::StatusOr<std::string> address) {
        FinishCreate(ns, id, stdio, std::move(address), done);
      });
}

void Engine::FinishCreate(const std::string& ns, const std::string& id, StdioConfig stdio,
                          absl::StatusOr<std::string> address, Done<TaskView> done) {
  if (!address.ok()) return AbandonCreate(ns, id, address.status(), done);
  Container& c = containers_.at(Key(ns, id));
  auto task = std::make_unique<Task>();
  task->record.ns = ns;
  task->record.container_id = id;
  task->record.shim_address = *address;
  task->record.bundle = BundleDir(ns, id);
  task->record.attach = stdio.attach;
  task->record.stdin_open = stdio.stdin_open;
  task->record.terminal = stdio.terminal;
  task->record.created_at = absl::Now();
  absl::StatusOr<pid_t> shim_pid =
      proc::ReadPidFile(absl::StrCat(task->record.bundle, "/", shim_api::kShimPidFile));
  task->record.shim_pid = shim_pid.ok() ? static_cast<uint32_t>(*shim_pid) : 0;
  task->init.stdio = stdio;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(task.get());
  if (!client.ok()) return AbandonCreate(ns, id, client.status(), done);
  absl::StatusOr<std::unique_ptr<ProcessStdio>> io =
      OpenStdio(task->record.bundle, "init", stdio, /*existing=*/false);
  if (!io.ok()) return AbandonCreate(ns, id, io.status(), done);
  task->init.io = std::move(*io);

  v2::CreateTaskRequest req;
  req.set_id(id);
  req.set_bundle(task->record.bundle);
  req.set_terminal(stdio.terminal);
  if (task->init.io) {
    req.set_stdin(task->init.io->fifos().in);
    req.set_stdout(task->init.io->fifos().out);
    req.set_stderr(task->init.io->fifos().err);
  }
  std::string lower = c.record.rootfs_path;
  if (!c.record.image_digest.empty()) {
    absl::StatusOr<std::vector<std::string>> dirs = LayerDirs(c.record.image_digest);
    if (!dirs.ok()) return AbandonCreate(ns, id, dirs.status(), done);
    lower = absl::StrJoin(*dirs, ":");
  }
  containerd::types::Mount* m = req.add_rootfs();
  if (c.record.rootfs_read_only && c.record.image_digest.empty()) {
    m->set_type("bind");
    m->set_source(c.record.rootfs_path);
    m->add_options("rbind");
    m->add_options("ro");
  } else {
    std::string dir = ContainerDir(ns, id);
    m->set_type("overlay");
    m->set_source("overlay");
    m->add_options(absl::StrCat("lowerdir=", lower));
    m->add_options(absl::StrCat("upperdir=", dir, "/upper"));
    m->add_options(absl::StrCat("workdir=", dir, "/work"));
  }
  req.mutable_options()->ParseFromString(ShimOptions(c.record));
  Task* t = task.get();
  c.task = std::move(task);  // held while the shim works: its io is on the loop
  (*client)->Create(req, [this, ns, id, t, done](absl::StatusOr<v2::CreateTaskResponse> r) {
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end() || it->second.task.get() != t) return;
    Container& c = it->second;
    if (!r.ok()) {
      std::unique_ptr<Task> failed = std::move(c.task);
      if (failed->init.io) failed->init.io->CloseAll();
      return AbandonCreate(ns, id, r.status(), done);
    }
    t->init.pid = r->pid();
    t->init.status = TaskStatus::kCreated;
    EventRecord e = NewEvent(ns, "/tasks/create", id);
    e.pid = r->pid();
    absl::Status st = Commit([&] { return store_->PutTask(Persisted(*t)); }, {e});
    if (!st.ok()) {
      // Not recorded: not kept either (recovery would delete it as an orphan).
      std::unique_ptr<Task> failed = std::move(c.task);
      if (failed->init.io) failed->init.io->CloseAll();
      return AbandonCreate(ns, id, st, done);
    }
    c.busy = false;
    done(View(*t));
  });
}

void Engine::AbandonCreate(const std::string& ns, const std::string& id, const absl::Status& why,
                           Done<TaskView> done) {
  log::Warn(absl::StrCat("create task ", ns, "/", id, ": ", why.message(), " (cleaning up)"));
  CleanupShim(ns, id, BundleDir(ns, id), [this, ns, id, why, done](auto) {
    auto it = containers_.find(Key(ns, id));
    if (it != containers_.end()) it->second.busy = false;
    done(why);
  });
}

void Engine::CleanupShim(const std::string& ns, const std::string& id, std::string bundle,
                         std::function<void(absl::StatusOr<v2::DeleteResponse>)> then) {
  ShimCommand cmd = Command(ns, id, "");
  cmd.bundle = bundle;
  Offload<absl::StatusOr<v2::DeleteResponse>>(
      [cmd]() -> absl::StatusOr<v2::DeleteResponse> {
        std::error_code ec;
        if (!fs::is_directory(cmd.bundle, ec)) {
          return absl::NotFoundError(absl::StrCat("bundle ", cmd.bundle, " is gone"));
        }
        // The runtime's delete --force kills the container; then the shim.
        absl::StatusOr<v2::DeleteResponse> r = DeleteShim(cmd);
        absl::StatusOr<pid_t> shim =
            proc::ReadPidFile(absl::StrCat(cmd.bundle, "/", shim_api::kShimPidFile));
        if (shim.ok() && *shim > 1) kill(*shim, SIGKILL);
        // A shim that died cannot remove its socket file.
        absl::StatusOr<std::string> address =
            ReadFile(absl::StrCat(cmd.bundle, "/", shim_api::kAddressFile));
        if (address.ok()) {
          std::string socket(absl::StripPrefix(absl::StripAsciiWhitespace(*address), "unix://"));
          if (absl::StartsWith(socket, cmd.socket_dir + "/")) unlink(socket.c_str());
        }
        if (!r.ok()) log::Warn(std::string(r.status().message()));
        fs::remove_all(cmd.bundle, ec);
        if (ec) log::Warn(absl::StrCat("remove ", cmd.bundle, ": ", ec.message()));
        return r;
      },
      std::move(then));
}

// ---- start, kill, wait ----

void Engine::Start(const std::string& ns, const std::string& ref, const std::string& exec_id,
                   Done<uint32_t> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
  if (!p.ok()) return done(p.status());
  if ((*p)->status != TaskStatus::kCreated) {
    return done(absl::FailedPreconditionError(
        absl::StrCat(exec_id.empty() ? "container " + id : "process " + exec_id,
                     " is not in the created state")));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::StartRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  (*client)->Start(
      req, Noting<v2::StartResponse>(
               ns, id, [this, ns, id, exec_id, done](absl::StatusOr<v2::StartResponse> r) {
                 if (!r.ok()) return done(r.status());
                 absl::StatusOr<Task*> t = FindTask(ns, id);
                 if (!t.ok()) return done(t.status());
                 absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
                 if (!p.ok()) return done(p.status());
                 // An exit may have been recorded before this answer (a process that
                 // ends at once): never go back from stopped.
                 if (!(*p)->exited()) (*p)->status = TaskStatus::kRunning;
                 (*p)->pid = r->pid();
                 EventRecord e = NewEvent(
                     ns, exec_id.empty() ? "/tasks/start" : "/tasks/exec-started", id, exec_id);
                 e.pid = r->pid();
                 absl::Status st;
                 if (exec_id.empty()) {
                   (*t)->record.started_at = absl::Now();
                   st = Commit([&] { return store_->PutTask(Persisted(**t)); }, {e});
                 } else {
                   st = Commit([] { return absl::OkStatus(); }, {e});
                 }
                 if (!st.ok()) log::Error(absl::StrCat("record start of ", id, ": ", st.message()));
                 done(r->pid());
               }));
}

void Engine::Kill(const std::string& ns, const std::string& ref, const std::string& exec_id,
                  int signal, bool all, Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
  if (!p.ok()) return done(p.status());
  if ((*p)->exited() && !all) {
    return done(absl::FailedPreconditionError(absl::StrCat(
        exec_id.empty() ? "container " + id : "process " + exec_id, " is not running")));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::KillRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(static_cast<uint32_t>(signal));
  req.set_all(all);
  (*client)->Kill(req, Noting<berth::pb::Empty>(ns, id, [done](absl::StatusOr<berth::pb::Empty> r) {
                    if (!r.ok()) return done(r.status());
                    done(Nothing{});
                  }));
}

void Engine::Wait(const std::string& ns, const std::string& ref, const std::string& exec_id,
                  Done<ExitInfo> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
  if (!p.ok()) return done(p.status());
  if ((*p)->exited()) return done(ExitInfo{(*p)->pid, (*p)->exit_status, (*p)->exited_at});
  (*p)->waiters.push_back(std::move(done));
}

// ---- exits ----

void Engine::FinishProcess(Process& p) {
  if (p.io) p.io->Finish(p.exit_status);
  std::vector<Done<ExitInfo>> waiters = std::move(p.waiters);
  p.waiters.clear();
  for (auto& w : waiters) w(ExitInfo{p.pid, p.exit_status, p.exited_at});
}

bool Engine::RecordExit(const std::string& ns, const std::string& id, const std::string& exec_id,
                        uint32_t pid, uint32_t exit_status, absl::Time exited_at) {
  auto it = containers_.find(Key(ns, id));
  if (it == containers_.end() || !it->second.task) return false;
  Task* t = it->second.task.get();
  Process* p = nullptr;
  if (exec_id.empty()) {
    p = &t->init;
  } else if (auto e = t->execs.find(exec_id); e != t->execs.end()) {
    p = e->second.get();
  }
  if (p == nullptr || p->exited()) return false;
  // An exit of another process of that name (an earlier task's shim still
  // delivering) is not this one's.
  if (pid != 0 && p->pid != 0 && pid != p->pid) return false;
  p->status = TaskStatus::kStopped;
  p->exit_status = exit_status;
  p->exited_at = exited_at;
  EventRecord e = NewEvent(ns, "/tasks/exit", id, exec_id);
  e.pid = p->pid;
  e.exit_status = exit_status;
  e.exited_at = exited_at;
  absl::Status st = exec_id.empty() ? Commit([&] { return store_->PutTask(Persisted(*t)); }, {e})
                                    : Commit([] { return absl::OkStatus(); }, {e});
  if (!st.ok()) log::Error(absl::StrCat("record exit of ", id, ": ", st.message()));
  FinishProcess(*p);
  return true;
}

void Engine::OnShimEvent(const containerd::events::Envelope& envelope, std::function<void()> ack) {
  if (recovering_) {
    held_events_.emplace_back(envelope, std::move(ack));
    return;
  }
  const std::string& topic = envelope.topic();
  if (topic == "/tasks/exit") {
    containerd::events::TaskExit ev;
    if (ev.ParseFromString(envelope.event().value())) {
      std::string exec_id = ev.id() == ev.container_id() ? "" : ev.id();
      RecordExit(envelope.namespace_(), ev.container_id(), exec_id, ev.pid(), ev.exit_status(),
                 FromTimestamp(ev.exited_at()));
    }
  } else if (topic == "/tasks/oom") {
    containerd::events::TaskOOM ev;
    if (ev.ParseFromString(envelope.event().value()) &&
        containers_.contains(Key(envelope.namespace_(), ev.container_id()))) {
      absl::Status st = Commit([] { return absl::OkStatus(); },
                               {NewEvent(envelope.namespace_(), "/tasks/oom", ev.container_id())});
      if (!st.ok()) log::Error(absl::StrCat("record oom: ", st.message()));
    }
  }
  // The other topics berthd records itself, when the shim answers its calls.
  ack();
}

// ---- delete ----

void Engine::RemoveTask(Container* c, Done<ExitInfo> done, ExitInfo info) {
  std::string ns = c->record.ns, id = c->record.id;
  EventRecord e = NewEvent(ns, "/tasks/delete", id);
  e.pid = info.pid;
  e.exit_status = info.exit_status;
  e.exited_at = info.exited_at;
  absl::Status st = Commit([&] { return store_->DeleteTask(ns, id); }, {e});
  if (!st.ok()) return done(st);
  std::unique_ptr<Task> t = std::move(c->task);
  if (t->retry != 0) loop_->Cancel(t->retry);
  if (t->init.io) t->init.io->CloseAll();
  for (auto& [exec_id, p] : t->execs) {
    if (p->io) p->io->CloseAll();
  }
  c->busy = false;
  done(info);
}

void Engine::DeleteTask(const std::string& ns, const std::string& ref, bool force,
                        Done<ExitInfo> done) {
  absl::StatusOr<Container*> found = Find(ns, ref);
  if (!found.ok()) return done(found.status());
  Container* c = *found;
  std::string id = c->record.id;
  if (!c->task) return done(absl::NotFoundError(absl::StrCat("container ", id, " has no task")));
  if (c->busy)
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is busy")));
  Task* t = c->task.get();
  if (t->shim_gone) {
    return RemoveTask(c, done, ExitInfo{t->init.pid, t->init.exit_status, t->init.exited_at});
  }
  bool running = !t->init.exited() && t->init.status != TaskStatus::kCreated;
  if (running && !force) {
    return done(absl::FailedPreconditionError(
        absl::StrCat("container ", id, " is running: stop it first, or delete with force")));
  }
  c->busy = true;
  auto finish = [this, ns, id, done](absl::StatusOr<ExitInfo> info) {
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end() || !it->second.task) return done(info);
    if (!info.ok()) {
      it->second.busy = false;
      return done(info.status());
    }
    RemoveTask(&it->second, done, *info);
  };
  // After the init has exited (or was never started): the shim's Delete,
  // then its Shutdown; a shim that does not answer is cleaned up with its
  // delete command instead.
  auto remove = [this, ns, id, finish]() {
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end() || !it->second.task) return finish(absl::NotFoundError("gone"));
    Task* t = it->second.task.get();
    auto fallback = [this, ns, id, finish, bundle = t->record.bundle](const absl::Status& why) {
      log::Warn(
          absl::StrCat("delete task ", id, ": ", why.message(), " (running the shim's delete)"));
      CleanupShim(ns, id, bundle, [finish](absl::StatusOr<v2::DeleteResponse> r) {
        if (!r.ok()) return finish(ExitInfo{});
        finish(ExitInfo{r->pid(), r->exit_status(), FromTimestamp(r->exited_at())});
      });
    };
    absl::StatusOr<ttrpc::TaskClient*> client = Client(t);
    if (!client.ok()) return fallback(client.status());
    v2::DeleteRequest req;
    req.set_id(id);
    (*client)->Delete(req, [this, ns, id, finish, fallback](absl::StatusOr<v2::DeleteResponse> r) {
      if (!r.ok()) return fallback(r.status());
      ExitInfo info{r->pid(), r->exit_status(), FromTimestamp(r->exited_at())};
      auto it = containers_.find(Key(ns, id));
      if (it == containers_.end() || !it->second.task) return finish(info);
      Task* t = it->second.task.get();
      absl::StatusOr<ttrpc::TaskClient*> client = Client(t);
      std::string bundle = t->record.bundle;
      // The shim ends soon after its Shutdown (once its last events are
      // taken); a new task of this container waits for that (CreateTask),
      // so that it never finds the old shim on its socket.
      it->second.old_shim = static_cast<pid_t>(t->record.shim_pid);
      auto cleanup = [this, finish, info, bundle](auto) {
        Offload<bool>(
            [bundle] {
              std::error_code ec;
              fs::remove_all(bundle, ec);
              return !ec;
            },
            [finish, info](bool) { finish(info); });
      };
      if (!client.ok()) return cleanup(absl::OkStatus());
      v2::ShutdownRequest shutdown;
      shutdown.set_id(id);
      (*client)->Shutdown(shutdown, cleanup);
    });
  };
  if (!running) return remove();
  absl::StatusOr<ttrpc::TaskClient*> client = Client(t);
  if (!client.ok()) {
    c->busy = false;
    return done(client.status());
  }
  // Force: kill everything, wait for the init's exit, then remove. A
  // frozen container is thawed first (SIGKILL waits for a thaw); one whose
  // shim cannot kill it in time is cleaned up without the shim.
  auto give_up = [this, ns, id](absl::string_view why) {
    log::Warn(absl::StrCat("delete ", id, ": ", why, "; cleaning up without its shim"));
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end() || !it->second.task) return;
    it->second.task->shim_gone = true;
    RecordExit(ns, id, "", 0, 128 + SIGKILL, absl::Now());
  };
  EventLoop::TimerId timer =
      loop_->After(kForceKillWait, [give_up] { give_up("no exit after SIGKILL"); });
  t->init.waiters.push_back([this, remove, timer](absl::StatusOr<ExitInfo>) {
    loop_->Cancel(timer);
    remove();
  });
  auto kill_all = [this, ns, id, give_up] {
    absl::StatusOr<Task*> t = FindTask(ns, id);
    if (!t.ok()) return;
    absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
    if (!client.ok()) return give_up(client.status().message());
    v2::KillRequest kill;
    kill.set_id(id);
    kill.set_signal(SIGKILL);
    kill.set_all(true);
    (*client)->Kill(kill,
                    Noting<berth::pb::Empty>(ns, id, [give_up](absl::StatusOr<berth::pb::Empty> r) {
                      if (!r.ok()) give_up(r.status().message());
                    }));
  };
  if (t->init.status != TaskStatus::kPaused) return kill_all();
  v2::ResumeRequest resume;
  resume.set_id(id);
  (*client)->Resume(resume, [kill_all](absl::StatusOr<berth::pb::Empty>) { kill_all(); });
}

// ---- exec ----

void Engine::Exec(const std::string& ns, const std::string& ref, ExecConfig exec,
                  Done<std::string> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  if ((*t)->init.status != TaskStatus::kRunning) {
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is not running")));
  }
  if (exec.exec_id.empty()) exec.exec_id = GenerateId().substr(0, 16);
  if (absl::Status st = ValidateName(exec.exec_id, "exec_id"); !st.ok()) return done(st);
  if ((*t)->execs.contains(exec.exec_id)) {
    return done(absl::AlreadyExistsError(
        absl::StrCat("process ", exec.exec_id, " already exists in container ", id)));
  }
  if (exec.stdio.terminal && !exec.stdio.attach) {
    return done(absl::InvalidArgumentError("stdio.terminal needs stdio.attach"));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  auto p = std::make_unique<Process>();
  p->exec_id = exec.exec_id;
  p->stdio = exec.stdio;
  absl::StatusOr<std::unique_ptr<ProcessStdio>> io =
      OpenStdio((*t)->record.bundle, "exec-" + exec.exec_id, exec.stdio, false);
  if (!io.ok()) return done(io.status());
  p->io = std::move(*io);
  v2::ExecProcessRequest req;
  req.set_id(id);
  req.set_exec_id(exec.exec_id);
  req.set_terminal(exec.stdio.terminal);
  if (p->io) {
    req.set_stdin(p->io->fifos().in);
    req.set_stdout(p->io->fifos().out);
    req.set_stderr(p->io->fifos().err);
  }
  req.mutable_spec()->set_type_url(kProcessType);
  req.mutable_spec()->set_value(exec.process_json);
  Process* raw = p.get();
  (*t)->execs[exec.exec_id] = std::move(p);
  std::string exec_id = exec.exec_id;
  (*client)->Exec(
      req, Noting<berth::pb::Empty>(
               ns, id, [this, ns, id, exec_id, raw, done](absl::StatusOr<berth::pb::Empty> r) {
                 absl::StatusOr<Task*> t = FindTask(ns, id);
                 if (!t.ok()) return done(t.status());
                 auto it = (*t)->execs.find(exec_id);
                 if (it == (*t)->execs.end() || it->second.get() != raw)
                   return done(absl::AbortedError("task changed"));
                 if (!r.ok()) {
                   if (it->second->io) it->second->io->CloseAll();
                   (*t)->execs.erase(it);
                   return done(r.status());
                 }
                 absl::Status st = Commit([] { return absl::OkStatus(); },
                                          {NewEvent(ns, "/tasks/exec-added", id, exec_id)});
                 if (!st.ok()) log::Error(absl::StrCat("record exec: ", st.message()));
                 done(exec_id);
               }));
}

void Engine::DeleteProcess(const std::string& ns, const std::string& ref,
                           const std::string& exec_id, Done<ExitInfo> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  if (exec_id.empty())
    return done(absl::InvalidArgumentError("exec_id: empty (delete the task instead)"));
  std::string id = (*t)->record.container_id;
  absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
  if (!p.ok()) return done(p.status());
  if ((*p)->status == TaskStatus::kRunning) {
    return done(absl::FailedPreconditionError(absl::StrCat("process ", exec_id, " is running")));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::DeleteRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  (*client)->Delete(
      req, Noting<v2::DeleteResponse>(
               ns, id, [this, ns, id, exec_id, done](absl::StatusOr<v2::DeleteResponse> r) {
                 if (!r.ok()) return done(r.status());
                 absl::StatusOr<Task*> t = FindTask(ns, id);
                 if (t.ok()) {
                   auto it = (*t)->execs.find(exec_id);
                   if (it != (*t)->execs.end()) {
                     if (it->second->io) it->second->io->CloseAll();
                     (*t)->execs.erase(it);
                   }
                 }
                 EventRecord e = NewEvent(ns, "/tasks/delete", id, exec_id);
                 e.pid = r->pid();
                 e.exit_status = r->exit_status();
                 e.exited_at = FromTimestamp(r->exited_at());
                 absl::Status st = Commit([] { return absl::OkStatus(); }, {e});
                 if (!st.ok()) log::Error(absl::StrCat("record exec delete: ", st.message()));
                 done(ExitInfo{r->pid(), r->exit_status(), FromTimestamp(r->exited_at())});
               }));
}

// ---- pass-through calls ----

void Engine::ResizePty(const std::string& ns, const std::string& ref, const std::string& exec_id,
                       uint32_t width, uint32_t height, Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::ResizePtyRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_width(width);
  req.set_height(height);
  (*client)->ResizePty(req,
                       Noting<berth::pb::Empty>(ns, id, [done](absl::StatusOr<berth::pb::Empty> r) {
                         if (!r.ok()) return done(r.status());
                         done(Nothing{});
                       }));
}

void Engine::CloseIO(const std::string& ns, const std::string& ref, const std::string& exec_id,
                     Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  absl::StatusOr<Process*> p = FindProcess(*t, exec_id);
  if (!p.ok()) return done(p.status());
  if (!(*p)->io) return done(Nothing{});
  // The input berthd still holds goes into the FIFO first; then the shim
  // (which holds a writer of its own) ends the process's stdin.
  std::string id = (*t)->record.container_id;
  (*p)->io->CloseStdin([this, ns, id, exec_id, done] {
    absl::StatusOr<Task*> t = FindTask(ns, id);
    if (!t.ok()) return done(t.status());
    absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
    if (!client.ok()) return done(client.status());
    v2::CloseIORequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_stdin(true);
    (*client)->CloseIO(req,
                       Noting<berth::pb::Empty>(ns, id, [done](absl::StatusOr<berth::pb::Empty> r) {
                         if (!r.ok()) return done(r.status());
                         done(Nothing{});
                       }));
  });
}

void Engine::Pause(const std::string& ns, const std::string& ref, Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  if ((*t)->init.status != TaskStatus::kRunning) {
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is not running")));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::PauseRequest req;
  req.set_id(id);
  (*client)->Pause(
      req,
      Noting<berth::pb::Empty>(ns, id, [this, ns, id, done](absl::StatusOr<berth::pb::Empty> r) {
        if (!r.ok()) return done(r.status());
        absl::StatusOr<Task*> t = FindTask(ns, id);
        if (!t.ok()) return done(t.status());
        if ((*t)->init.status == TaskStatus::kRunning) (*t)->init.status = TaskStatus::kPaused;
        absl::Status st = Commit([&] { return store_->PutTask(Persisted(**t)); },
                                 {NewEvent(ns, "/tasks/paused", id)});
        if (!st.ok()) return done(st);
        done(Nothing{});
      }));
}

void Engine::Resume(const std::string& ns, const std::string& ref, Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  if ((*t)->init.status != TaskStatus::kPaused) {
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is not paused")));
  }
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::ResumeRequest req;
  req.set_id(id);
  (*client)->Resume(
      req,
      Noting<berth::pb::Empty>(ns, id, [this, ns, id, done](absl::StatusOr<berth::pb::Empty> r) {
        if (!r.ok()) return done(r.status());
        absl::StatusOr<Task*> t = FindTask(ns, id);
        if (!t.ok()) return done(t.status());
        if ((*t)->init.status == TaskStatus::kPaused) (*t)->init.status = TaskStatus::kRunning;
        absl::Status st = Commit([&] { return store_->PutTask(Persisted(**t)); },
                                 {NewEvent(ns, "/tasks/resumed", id)});
        if (!st.ok()) return done(st);
        done(Nothing{});
      }));
}

void Engine::ListPids(const std::string& ns, const std::string& ref,
                      Done<std::vector<uint32_t>> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::PidsRequest req;
  req.set_id(id);
  (*client)->Pids(req, Noting<v2::PidsResponse>(ns, id, [done](absl::StatusOr<v2::PidsResponse> r) {
                    if (!r.ok()) return done(r.status());
                    std::vector<uint32_t> pids;
                    for (const auto& p : r->processes()) pids.push_back(p.pid());
                    done(std::move(pids));
                  }));
}

void Engine::Stats(const std::string& ns, const std::string& ref, Done<v2::StatsResponse> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::StatsRequest req;
  req.set_id(id);
  (*client)->Stats(req, Noting<v2::StatsResponse>(ns, id, std::move(done)));
}

void Engine::Update(const std::string& ns, const std::string& ref,
                    const std::string& resources_json, Done<Nothing> done) {
  absl::StatusOr<Task*> t = FindTask(ns, ref);
  if (!t.ok()) return done(t.status());
  std::string id = (*t)->record.container_id;
  absl::StatusOr<ttrpc::TaskClient*> client = Client(*t);
  if (!client.ok()) return done(client.status());
  v2::UpdateTaskRequest req;
  req.set_id(id);
  req.mutable_resources()->set_type_url(kResourcesType);
  req.mutable_resources()->set_value(resources_json);
  (*client)->Update(req,
                    Noting<berth::pb::Empty>(ns, id, [done](absl::StatusOr<berth::pb::Empty> r) {
                      if (!r.ok()) return done(r.status());
                      done(Nothing{});
                    }));
}

absl::StatusOr<TaskView> Engine::GetTask(const std::string& ns, const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(Task * t, FindTask(ns, ref));
  return View(*t);
}

std::vector<TaskView> Engine::ListTasks(const std::string& ns) {
  std::vector<TaskView> out;
  for (const auto& [key, c] : containers_) {
    if (c.task && (ns.empty() || c.record.ns == ns)) out.push_back(View(*c.task));
  }
  return out;
}

// ---- attach ----

absl::Status Engine::Attach(const std::string& ns, const std::string& ref,
                            const std::string& exec_id, std::shared_ptr<Attachment> a) {
  BERTH_ASSIGN_OR_RETURN(Task * t, FindTask(ns, ref));
  BERTH_ASSIGN_OR_RETURN(Process * p, FindProcess(t, exec_id));
  if (!p->io) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", exec_id.empty() ? t->record.container_id : exec_id,
                     " was not created with stdio.attach: its output is not held by berthd"));
  }
  if (p->exited()) {
    a->Ack();
    a->Exited(p->exit_status);
    return absl::OkStatus();
  }
  p->io->Attach(std::move(a));
  return absl::OkStatus();
}

absl::Status Engine::WriteStdin(const std::string& ns, const std::string& ref,
                                const std::string& exec_id, std::string data) {
  BERTH_ASSIGN_OR_RETURN(Task * t, FindTask(ns, ref));
  BERTH_ASSIGN_OR_RETURN(Process * p, FindProcess(t, exec_id));
  if (!p->io) return absl::FailedPreconditionError("the process has no stdin held by berthd");
  return p->io->Write(std::move(data));
}

}  // namespace berth::supervisor
