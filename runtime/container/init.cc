#include "runtime/container/init.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/log.h"
#include "lib/unique_fd.h"
#include "runtime/container/process_setup.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/container/sync.h"
#include "runtime/hooks/hooks.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/devices.h"
#include "runtime/linux/exe_guard.h"
#include "runtime/linux/exec_lookup.h"
#include "runtime/linux/loopback.h"
#include "runtime/linux/masked_paths.h"
#include "runtime/linux/mounts.h"
#include "runtime/linux/pivot_root.h"
#include "runtime/linux/process_attrs.h"
#include "runtime/linux/process_limits.h"
#include "runtime/linux/safe_path.h"
#include "runtime/linux/sysctl.h"
#include "runtime/linux/terminal.h"
#include "runtime/linux/user.h"

namespace berth::container {
namespace {

using spec::NamespaceType;

bool DevIsBindMounted(const spec::Spec& s) {
  for (const spec::Mount& m : s.mounts) {
    if (m.destination != "/dev" && m.destination != "/dev/") continue;
    if (m.type == "bind") return true;
    for (const std::string& o : m.options) {
      if (o == "bind" || o == "rbind") return true;
    }
  }
  return false;
}

absl::Status JoinAndCreateNamespaces(const InitConfig& c) {
  const spec::Spec& s = *c.spec;
  if (s.HasNamespace(NamespaceType::kUser)) {
    // The parent has written our maps: become the namespace's root (if it
    // is mapped) before doing anything else.
    if (::setresgid(0, 0, 0) != 0 && errno != EINVAL)
      return ErrnoError("setgid 0 in user namespace");
    if (::setresuid(0, 0, 0) != 0 && errno != EINVAL)
      return ErrnoError("setuid 0 in user namespace");
  }
  for (const linux_ns::NamespaceToJoin& ns : *c.join) {
    if (ns.type == NamespaceType::kPid) continue;  // joined by the parent, before clone
    BERTH_RETURN_IF_ERROR(linux_ns::Join(ns));
  }
  // A cgroup namespace is created only now, after the parent moved us into
  // the container's cgroup, so that cgroup becomes its root.
  const spec::Namespace* cg = s.FindNamespace(NamespaceType::kCgroup);
  if (cg != nullptr && cg->path.empty() && ::unshare(CLONE_NEWCGROUP) != 0) {
    return ErrnoError("create cgroup namespace");
  }
  const spec::Namespace* time = s.FindNamespace(NamespaceType::kTime);
  if (time != nullptr && time->path.empty()) {
    BERTH_RETURN_IF_ERROR(linux_ns::EnterNewTimeNamespace(s.linux_cfg.time_offsets));
  }
  const spec::Namespace* net = s.FindNamespace(NamespaceType::kNetwork);
  if (net != nullptr && net->path.empty()) BERTH_RETURN_IF_ERROR(linux_ns::BringUpLoopback());
  return absl::OkStatus();
}

// Mounts are done, pivot_root is next: the runtime-spec's point for
// prestart/createRuntime (run by the parent, in the runtime's namespaces)
// and createContainer (run here, in the container's namespaces).
absl::Status RunCreateHooks(const InitConfig& c) {
  const spec::Hooks& h = c.spec->hooks;
  if (!h.prestart.empty() || !h.create_runtime.empty()) {
    BERTH_RETURN_IF_ERROR(SendSync(c.sync_fd, SyncType::kRunHooks));
    BERTH_ASSIGN_OR_RETURN(SyncMessage reply, ReceiveSync(c.sync_fd));
    if (reply.type != SyncType::kHooksDone) return absl::AbortedError("create hooks failed");
  }
  if (h.create_container.empty()) return absl::OkStatus();
  return hooks::Run(h.create_container, "createContainer",
                    hooks::StateJson(*c.spec, c.id, "creating", c.host_pid, c.bundle));
}

absl::Status SetupRootfs(const InitConfig& c) {
  const spec::Spec& s = *c.spec;
  const spec::Linux& lx = s.linux_cfg;
  BERTH_RETURN_IF_ERROR(linux_ns::PrepareRootfs(c.rootfs, lx.rootfs_propagation));
  UniqueFd rootfd(::open(c.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return ErrnoError(absl::StrCat("open rootfs ", c.rootfs));

  linux_ns::MountContext ctx;
  ctx.rootfd = rootfd.get();
  ctx.bundle = c.bundle;
  ctx.hierarchies = c.hierarchies;
  ctx.cgroup_dirs = c.cgroup_dirs;
  const spec::Namespace* cg = s.FindNamespace(NamespaceType::kCgroup);
  ctx.new_cgroup_ns = cg != nullptr;
  ctx.in_user_ns = s.HasNamespace(NamespaceType::kUser);
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    BERTH_RETURN_IF_ERROR(linux_ns::MountEntry(s.mounts[i], i, ctx));
  }
  BERTH_RETURN_IF_ERROR(
      linux_ns::CreateDevices(rootfd.get(), lx.devices, !DevIsBindMounted(s), c.staged_devices_fd));
  BERTH_RETURN_IF_ERROR(linux_ns::CreateDevSymlinks(rootfd.get()));
  if (s.process->terminal) BERTH_RETURN_IF_ERROR(linux_ns::CreateConsoleMountpoint(rootfd.get()));
  // runc creates a missing cwd; do it while the rootfs is still writable.
  BERTH_RETURN_IF_ERROR(Annotate(
      linux_ns::CreateInRoot(rootfd.get(), s.process->cwd, linux_ns::TargetKind::kDirectory)
          .status(),
      "process.cwd"));

  BERTH_RETURN_IF_ERROR(RunCreateHooks(c));
  if (c.no_pivot) {
    BERTH_RETURN_IF_ERROR(linux_ns::MoveRoot(c.rootfs));
  } else {
    UniqueFd dir(::open(c.rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return ErrnoError(absl::StrCat("open rootfs ", c.rootfs));
    BERTH_RETURN_IF_ERROR(linux_ns::PivotRoot(dir.get()));
  }
  return linux_ns::ApplyRootPropagation(lx.rootfs_propagation);
}

absl::Status SetupTerminal(const InitConfig& c) {
  BERTH_ASSIGN_OR_RETURN(linux_ns::Pty pty, linux_ns::OpenPty());
  // CVE-2025-52565: bind onto the /dev/console we created, checked to be a
  // regular file again now, never onto whatever the path names later.
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  BERTH_ASSIGN_OR_RETURN(UniqueFd console,
                         linux_ns::OpenInRootNoSymlinks(root.get(), "/dev/console"));
  struct stat st;
  if (::fstat(console.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        "/dev/console was replaced before the terminal was bound to it");
  }
  if (::mount(linux_ns::FdPath(pty.slave.get()).c_str(), linux_ns::FdPath(console.get()).c_str(),
              nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoError("bind the terminal to /dev/console");
  }
  if (const auto& size = c.spec->process->console_size) {
    BERTH_RETURN_IF_ERROR(linux_ns::SetWindowSize(pty.master.get(), size->height, size->width));
  }
  BERTH_RETURN_IF_ERROR(linux_ns::SendFd(c.console_fd, pty.master.get(), pty.slave_name));
  return linux_ns::AttachToTerminal(pty.slave.get());
}

absl::Status JoinSessionKeyring() {
  // KEYCTL_JOIN_SESSION_KEYRING (1) with no name: a fresh anonymous keyring,
  // so the container does not share the host session's keys.
  if (::syscall(SYS_keyctl, 1, nullptr) < 0 && errno != ENOSYS) {
    return ErrnoError("create session keyring");
  }
  return absl::OkStatus();
}

absl::StatusOr<ExecPlan> Setup(const InitConfig& c) {
  const spec::Spec& s = *c.spec;
  const spec::Process& p = *s.process;
  BERTH_RETURN_IF_ERROR(JoinAndCreateNamespaces(c));
  ::umask(0);
  // Without a mount namespace (validated: rootfs /, nothing to mount or
  // make) the root is the runtime's own: only the hooks' point remains.
  BERTH_RETURN_IF_ERROR(s.HasNamespace(NamespaceType::kMount) ? SetupRootfs(c) : RunCreateHooks(c));
  if (p.terminal) BERTH_RETURN_IF_ERROR(SetupTerminal(c));
  if (s.root.readonly) BERTH_RETURN_IF_ERROR(linux_ns::MakeRootReadonly());
  if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) != 0) {
    return ErrnoError(absl::StrCat("hostname: set \"", s.hostname, "\""));
  }
  if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) != 0) {
    return ErrnoError(absl::StrCat("domainname: set \"", s.domainname, "\""));
  }
  // Before readonlyPaths, which usually make /proc/sys read-only.
  BERTH_RETURN_IF_ERROR(linux_ns::ApplySysctl(s.linux_cfg.sysctl));
  BERTH_RETURN_IF_ERROR(linux_ns::MakePathsReadonly(s.linux_cfg.readonly_paths));
  BERTH_RETURN_IF_ERROR(linux_ns::MaskPaths(s.linux_cfg.masked_paths));
  if (!c.no_new_keyring) BERTH_RETURN_IF_ERROR(JoinSessionKeyring());
  if (p.oom_score_adj) BERTH_RETURN_IF_ERROR(linux_ns::SetOomScoreAdj(*p.oom_score_adj));
  return SetUpProcess(s, p, *c.seccomp, c.preserve_fds, c.runtime_exe);
}

[[noreturn]] void Fail(int sync_fd, const absl::Status& status) {
  SendSync(sync_fd, SyncType::kError, status.message()).IgnoreError();
  ::_exit(1);
}

}  // namespace

void RunInit(const InitConfig& config) {
  InitConfig c = config;
  // A half-made container must not outlive a killed `berth create`: the
  // init only ever waits on the sync socket, and the parent's death closes
  // it (EOF), so it exits at its next handshake step. (PR_SET_PDEATHSIG
  // would race with a parent that exits right after "commit".)
  for (int fd : c.parent_only_fds) ::close(fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // CVE-2016-9962: nothing in the container may ptrace the init while it
  // still holds runtime fds. (After the parent wrote our id maps, which
  // needs our /proc files owned by their creator.)
  auto own_exe = linux_ns::OwnExecutable();
  if (!own_exe.ok()) ::_exit(1);
  c.runtime_exe = *own_exe;
  auto go = ReceiveSync(c.sync_fd);
  if (!go.ok() || go->type != SyncType::kGo || !absl::SimpleAtoi(go->text, &c.host_pid)) ::_exit(1);
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) Fail(c.sync_fd, ErrnoError("PR_SET_DUMPABLE"));
  // A session and process group of its own, as runc's init.
  if (::setsid() < 0) Fail(c.sync_fd, ErrnoError("setsid"));

  auto plan = Setup(c);
  if (!plan.ok()) Fail(c.sync_fd, plan.status());
  if (!SendSync(c.sync_fd, SyncType::kReady).ok()) ::_exit(1);
  auto commit = ReceiveSync(c.sync_fd);
  if (!commit.ok() || commit->type != SyncType::kCommit) ::_exit(1);
  ::close(c.sync_fd);

  // Block until `start` writes to the exec fifo.
  char byte;
  ssize_t n;
  while ((n = ::read(c.fifo_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ::_exit(1);

  // startContainer hooks: in the container, after start, before the user's
  // process; their path resolves inside the container.
  if (!c.spec->hooks.start_container.empty()) {
    absl::Status st = hooks::Run(c.spec->hooks.start_container, "startContainer",
                                 hooks::StateJson(*c.spec, c.id, "created", c.host_pid, c.bundle));
    if (!st.ok()) {
      log::Error(st.message());
      ::_exit(1);
    }
  }
  // The caller of `start` has gone; the log (still open: close-on-exec) and
  // stderr are the only places left to say why.
  absl::Status st = ExecProcess(*plan);
  log::Error(st.message());
  ::_exit(absl::StartsWith(st.message(), "exec ") ? 127 : 1);
}

}  // namespace berth::container
