#include "runtime/container/exec.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "runtime/container/create.h"
#include "runtime/container/lifecycle.h"
#include "runtime/container/process_setup.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/container/sync.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/exe_guard.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/terminal.h"
#include "runtime/spec/parser.h"
#include "runtime/state/state_dir.h"

namespace berth::container {
namespace {

using spec::NamespaceType;

struct ExecChild {
  const spec::Spec* spec = nullptr;  // the container's, with the exec process
  int init_pidfd = -1;
  int sync_fd = -1;
  int console_fd = -1;
  int preserve_fds = 0;
  const InitSeccomp* seccomp = nullptr;  // compiled by the parent
  std::vector<int> parent_only_fds;
};

// Every namespace of the container but pid and time, which the parent
// joined for us before the clone (they only apply to children).
int NamespacesToEnter(const spec::Spec& s) {
  int flags = 0;
  for (const spec::Namespace& ns : s.linux_cfg.namespaces) {
    if (ns.type == NamespaceType::kPid || ns.type == NamespaceType::kTime) continue;
    flags |= linux_ns::CloneFlag(ns.type);
  }
  return flags;
}

absl::StatusOr<ExecPlan> SetUpChild(const ExecChild& c, const linux_ns::FileId& runtime_exe) {
  const spec::Spec& s = *c.spec;
  const spec::Process& p = *s.process;
  // One setns on the init's pidfd enters all its namespaces at once, the
  // user namespace first, as the kernel orders them.
  if (::setns(c.init_pidfd, NamespacesToEnter(s)) != 0) {
    return ErrnoError("exec: enter the container's namespaces");
  }
  if (p.terminal) {
    BERTH_ASSIGN_OR_RETURN(linux_ns::Pty pty, linux_ns::OpenPty());
    if (p.console_size) {
      BERTH_RETURN_IF_ERROR(
          linux_ns::SetWindowSize(pty.master.get(), p.console_size->height, p.console_size->width));
    }
    BERTH_RETURN_IF_ERROR(linux_ns::SendFd(c.console_fd, pty.master.get(), pty.slave_name));
    BERTH_RETURN_IF_ERROR(linux_ns::AttachToTerminal(pty.slave.get()));
  }
  return SetUpProcess(s, p, *c.seccomp, c.preserve_fds, runtime_exe);
}

// Every way out of the child before execve says why: the parent reads EOF
// on the sync socket (close-on-exec) as "executed".
[[noreturn]] void ExitWithError(int sync_fd, const absl::Status& status) {
  // Under the container's filter the socket may be refused to us: then
  // stderr, the exec's own, is the place left to say why.
  if (!SendSync(sync_fd, SyncType::kError, status.message()).ok()) log::Error(status.message());
  ::_exit(1);
}

[[noreturn]] void RunExecChild(const ExecChild& c) {
  for (int fd : c.parent_only_fds) ::close(fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Nothing before "go": the parent's send would fail first and hide why.
  auto go = ReceiveSync(c.sync_fd);
  if (!go.ok()) ExitWithError(c.sync_fd, Annotate(go.status(), "exec: wait for the runtime"));
  if (go->type != SyncType::kGo) {
    ExitWithError(c.sync_fd, absl::InternalError("exec: unexpected message from the runtime"));
  }
  // CVE-2016-9962: a process of the container with our uid and no more
  // capabilities than we will have must not ptrace us, nor open our
  // /proc/<pid>/fd/* or /root, while we hold the runtime's fds. Until now
  // we have had every capability in the host's user namespace, which the
  // kernel's ptrace check already protects; from here on we enter the
  // container and drop them.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    ExitWithError(c.sync_fd, ErrnoError("exec: PR_SET_DUMPABLE"));
  }
  // Its own session and process group, inside the container's pid
  // namespace (as runc's exec): the caller's would read as 0 there.
  if (::setsid() < 0) ExitWithError(c.sync_fd, ErrnoError("exec: setsid"));
  auto runtime_exe = linux_ns::OwnExecutable();
  if (!runtime_exe.ok()) ExitWithError(c.sync_fd, Annotate(runtime_exe.status(), "exec"));
  auto plan = SetUpChild(c, *runtime_exe);
  if (!plan.ok()) ExitWithError(c.sync_fd, plan.status());
  ExitWithError(c.sync_fd, ExecProcess(*plan));
}

absl::StatusOr<spec::Spec> ExecSpec(const state::StateDir& dir, const ExecOptions& o) {
  BERTH_ASSIGN_OR_RETURN(spec::Spec s, LoadSpecFile(absl::StrCat(dir.path(), "/config.json")));
  std::optional<spec::Process> from_file;
  if (!o.process_file.empty()) {
    BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(o.process_file));
    auto parsed = spec::ParseProcessJson(text);
    if (!parsed.ok()) return Annotate(parsed.status(), o.process_file);
    from_file = *std::move(parsed);
  }
  BERTH_ASSIGN_OR_RETURN(spec::Process p,
                         BuildExecProcess(*s.process, from_file ? &*from_file : nullptr, o.flags));
  if (p.capabilities) BERTH_RETURN_IF_ERROR(linux_ns::ValidateCapabilities(*p.capabilities));
  s.process = std::move(p);
  return s;
}

// The container's status, if a process may be executed in it.
absl::StatusOr<state::Status> CheckRunnable(const state::StateDir& dir,
                                            const state::ContainerState& st, const ExecOptions& o) {
  state::Status status = state::ComputeStatus(dir, st);
  if (status == state::Status::kStopped) {
    return absl::FailedPreconditionError(
        "cannot exec in a stopped container: container not running");
  }
  if (status == state::Status::kPaused && !o.ignore_paused) {
    return absl::FailedPreconditionError("cannot exec in a paused container: container paused");
  }
  return status;
}

// Saves and restores a namespace of the calling process around a setns
// that only applies to its children (pid, time).
class NamespaceForChildren {
 public:
  static absl::StatusOr<NamespaceForChildren> Save(const char* name, int type) {
    std::string path = absl::StrCat("/proc/self/ns/", name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoError(absl::StrCat("exec: open ", path));
    return NamespaceForChildren(std::move(fd), name, type);
  }
  absl::Status Restore() const {
    if (::setns(fd_.get(), type_) == 0) return absl::OkStatus();
    return ErrnoError(absl::StrCat("exec: return to the runtime's own ", name_, " namespace"));
  }

 private:
  NamespaceForChildren(UniqueFd fd, const char* name, int type)
      : fd_(std::move(fd)), name_(name), type_(type) {}
  UniqueFd fd_;
  const char* name_;
  int type_;
};

// clone3 as fork, with a pidfd; the pid (and time) namespace of the
// container is joined for this one child and left right after.
absl::StatusOr<pid_t> CloneInContainer(const spec::Spec& s, int init_pidfd, const ExecChild& child,
                                       int* pidfd) {
  BERTH_ASSIGN_OR_RETURN(NamespaceForChildren own_pid,
                         NamespaceForChildren::Save("pid", CLONE_NEWPID));
  std::optional<NamespaceForChildren> own_time;
  if (s.HasNamespace(NamespaceType::kTime)) {
    BERTH_ASSIGN_OR_RETURN(own_time, NamespaceForChildren::Save("time", CLONE_NEWTIME));
  }
  int ns_flags = CLONE_NEWPID | (own_time ? CLONE_NEWTIME : 0);
  if (::setns(init_pidfd, ns_flags) != 0) {
    return ErrnoError("exec: join the container's pid namespace");
  }
  struct clone_args args = {};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  if (pid == 0) RunExecChild(child);
  int err = errno;
  absl::Status restored = own_pid.Restore();
  if (restored.ok() && own_time) restored = own_time->Restore();
  if (pid < 0) return ErrnoError(err, "exec: clone");
  if (!restored.ok()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(*pidfd);
    *pidfd = -1;
    return restored;
  }
  return pid;
}

}  // namespace

absl::StatusOr<ExecStarted> StartExec(const ExecOptions& o) {
  BERTH_ASSIGN_OR_RETURN(state::StateDir dir, state::StateDir::OpenUnlocked(o.root, o.id));
  auto st = dir.ReadState();
  if (absl::IsNotFound(st.status())) {
    // Between the state directory and state.json: still being created.
    return absl::FailedPreconditionError(absl::StrCat("cannot exec in container \"", o.id,
                                                      "\": container not running (",
                                                      st.status().message(), ")"));
  }
  if (!st.ok()) {
    return Annotate(st.status(), absl::StrCat("exec: read the state of container \"", o.id, "\""));
  }
  BERTH_ASSIGN_OR_RETURN(state::Status status, CheckRunnable(dir, *st, o));
  BERTH_ASSIGN_OR_RETURN(spec::Spec s, ExecSpec(dir, o));
  const spec::Process& p = *s.process;
  if (p.terminal && o.console_socket.empty() && o.detach) {
    return absl::InvalidArgumentError("exec: a terminal with --detach needs --console-socket");
  }
  if (o.preserve_fds < 0 || o.preserve_fds > 65536) {
    return absl::InvalidArgumentError("--preserve-fds: must be between 0 and 65536");
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd init_pidfd, OpenInitPidfd(*st));

  UniqueFd console, console_child;
  if (p.terminal) {
    BERTH_ASSIGN_OR_RETURN(linux_ns::ConsoleChannel channel,
                           linux_ns::OpenConsoleChannel(o.console_socket));
    console = std::move(channel.ours);
    console_child = std::move(channel.child);
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return ErrnoError("socketpair");
  UniqueFd sync_parent(sv[0]), sync_child(sv[1]);

  BERTH_ASSIGN_OR_RETURN(InitSeccomp seccomp, InitSeccomp::Compile(s, sync_child.get(), o.root));
  ExecChild child;
  child.spec = &s;
  child.seccomp = &seccomp;
  child.init_pidfd = init_pidfd.get();
  child.sync_fd = sync_child.get();
  child.console_fd = console_child.get();
  child.preserve_fds = static_cast<int>(o.preserve_fds);
  child.parent_only_fds = {dir.fd(), sync_parent.get()};
  if (console) child.parent_only_fds.push_back(console.get());

  int raw_pidfd = -1;
  BERTH_ASSIGN_OR_RETURN(pid_t pid, CloneInContainer(s, init_pidfd.get(), child, &raw_pidfd));
  UniqueFd pidfd(raw_pidfd);
  sync_child.reset();
  console_child.reset();
  bool started = false;
  auto kill_on_error = absl::MakeCleanup([&] {
    if (started) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });

  // Into the container's cgroup, before the child does anything.
  if (std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(*st)) {
    BERTH_RETURN_IF_ERROR(Annotate(cgroup->Join(pid), "exec: join the container's cgroup"));
  }
  BERTH_RETURN_IF_ERROR(SendSync(sync_parent.get(), SyncType::kGo));
  // The sync socket is close-on-exec and the child reports every failure
  // before it exits: EOF (Aborted) means the execve happened.
  for (;;) {
    auto msg = ReceiveSync(sync_parent.get());
    if (absl::IsAborted(msg.status())) break;
    if (!msg.ok()) return Annotate(msg.status(), "exec");
    if (msg->type == SyncType::kError) return absl::FailedPreconditionError(msg->text);
    if (msg->type != SyncType::kSeccompFd) {
      return absl::InternalError("exec: unexpected message from the new process");
    }
    // The agent gets the container's state, as runc sends it: its status
    // and its init's pid, not the new process's.
    BERTH_RETURN_IF_ERROR(SendToSeccompListener(s, o.id, state::StatusName(status), st->pid,
                                                st->bundle, msg->fd.get()));
  }
  ExecStarted out{pid, std::move(pidfd), {}};
  if (console) {
    BERTH_ASSIGN_OR_RETURN(out.console, linux_ns::ReceiveFd(console.get()));
  }
  if (!o.pid_file.empty()) {
    BERTH_RETURN_IF_ERROR(Annotate(WriteFileAtomic(o.pid_file, absl::StrCat(pid)), "--pid-file"));
  }
  started = true;
  return out;
}

}  // namespace berth::container
