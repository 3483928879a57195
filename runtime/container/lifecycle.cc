#include "runtime/container/lifecycle.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "runtime/cgroups/manager.h"
#include "runtime/container/create.h"
#include "runtime/hooks/hooks.h"

namespace berth::container {
namespace {

using state::Status;

absl::Status NotRunning() { return absl::FailedPreconditionError("container not running"); }

// Waits until the process behind pidfd has exited (up to `ms`).
bool WaitExited(int pidfd, int ms) {
  struct pollfd p = {pidfd, POLLIN, 0};
  int rc;
  while ((rc = ::poll(&p, 1, ms)) < 0 && errno == EINTR) {
  }
  return rc > 0;
}

void KillEverything(const state::ContainerState& s) {
  if (auto pidfd = OpenInitPidfd(s); pidfd.ok()) {
    ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
    WaitExited(pidfd->get(), 10000);
  }
  // Without its own pid namespace the container's other processes survive
  // the init; with one they are already gone. Either way, sweep the cgroup.
  std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(s);
  if (cgroup == nullptr) return;
  for (int round = 0; round < 50; ++round) {
    auto pids = cgroup->Pids();
    if (!pids.ok() || pids->empty()) return;
    for (pid_t p : *pids) ::kill(p, SIGKILL);
    ::usleep(2000);
  }
}

// Frozen tasks act on SIGKILL only once thawed: queue the signal to every
// process first, so none runs the container's code again, then thaw the
// container's cgroup and any cgroup inside it, frozen by `berth pause` or by
// anyone else (a paused state alone does not tell).
void KillFrozen(const state::ContainerState& s) {
  std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(s);
  if (cgroup != nullptr) cgroup->KillAndThawAll();
}

}  // namespace

absl::StatusOr<UniqueFd> OpenInitPidfd(const state::ContainerState& s) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0)));
  if (!fd) return absl::NotFoundError("container not running");
  // The pidfd pins the process: if the start time still matches now, it is ours.
  if (!proc::IsSameLiveProcess(s.pid, s.pid_start_time))
    return absl::NotFoundError("container not running");
  return fd;
}

absl::Status Start(const state::StateDir& dir, const state::ContainerState& s) {
  Status st = state::ComputeStatus(dir, s);
  if (st == Status::kStopped)
    return absl::FailedPreconditionError("cannot start a container that has stopped");
  if (st != Status::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a container in the ", state::StatusName(st), " state"));
  }
  // A process that exits at once is indistinguishable, from here, from an
  // init that died before its exec (which logs why itself): as runc, start
  // succeeds once the init is released.
  return ReleaseInit(dir);
}

absl::Status ReleaseInit(const state::StateDir& dir) {
  // Our reader is opened before our writer: the kernel then reports POLLHUP
  // on it once no writer is left, i.e. when the init's own (close-on-exec)
  // fifo fd goes away at execve, or with the init.
  UniqueFd reader(::openat(dir.fd(), "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!reader) return ErrnoError("open exec fifo");
  {
    UniqueFd writer(::openat(dir.fd(), "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!writer) return ErrnoError("open exec fifo");
    if (::write(writer.get(), "0", 1) != 1) return ErrnoError("write exec fifo");
  }
  ::unlinkat(dir.fd(), "exec.fifo", 0);
  // No events asked for: poll reports only POLLHUP (or POLLERR), so it
  // sleeps until then, whether or not the init has read our byte yet (asking
  // for POLLIN made this a 100 us sleep loop until the init got to run).
  for (;;) {
    struct pollfd p = {reader.get(), 0, 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("wait for exec");
    }
    if (p.revents & (POLLHUP | POLLERR)) return absl::OkStatus();
  }
}

absl::Status Kill(const state::ContainerState& s, int signal, bool all) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd pidfd, OpenInitPidfd(s));
  if (all) {
    std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(s);
    if (cgroup == nullptr) {
      return absl::FailedPreconditionError("kill --all: the container has no cgroup (rootless)");
    }
    BERTH_ASSIGN_OR_RETURN(auto pids, cgroup->Pids());
    for (pid_t p : pids) ::kill(p, signal);
    return absl::OkStatus();
  }
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) != 0) {
    if (errno == ESRCH) return NotRunning();
    return ErrnoError(absl::StrCat("send signal ", signal));
  }
  return absl::OkStatus();
}

namespace {

// The config saved at create time when it has poststart/poststop hooks.
std::optional<spec::Spec> SavedSpec(const state::StateDir& dir) {
  std::string path = absl::StrCat(dir.path(), "/config.json");
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  auto s = LoadSpecFile(path);
  if (!s.ok()) {
    log::Warn(absl::StrCat("hooks: ", s.status().message()));
    return std::nullopt;
  }
  return *std::move(s);
}

}  // namespace

void RunPoststartHooks(const state::StateDir& dir, const state::ContainerState& s) {
  auto spec = SavedSpec(dir);
  if (!spec || spec->hooks.poststart.empty()) return;
  hooks::RunAll(spec->hooks.poststart, "poststart",
                hooks::StateJson(*spec, s.id, "running", s.pid, s.bundle));
}

absl::Status Delete(state::StateDir& dir, bool force) {
  auto s = dir.ReadState();
  if (!s.ok()) {
    // A create that died before writing state.json left only the directory.
    if (absl::IsNotFound(s.status())) return dir.Remove();
    return s.status();
  }
  Status st = state::ComputeStatus(dir, *s);
  if (st == Status::kRunning || st == Status::kPaused) {
    if (!force) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot delete container ", s->id, " that is not stopped: container still running"));
    }
  }
  std::optional<spec::Spec> spec = SavedSpec(dir);
  KillFrozen(*s);
  KillEverything(*s);
  std::unique_ptr<cgroups::Manager> cgroup = state::LoadCgroup(*s);
  absl::Status result = cgroup ? cgroup->Destroy() : absl::OkStatus();
  result.Update(dir.Remove());
  if (spec && !spec->hooks.poststop.empty()) {
    hooks::RunAll(spec->hooks.poststop, "poststop",
                  hooks::StateJson(*spec, s->id, "stopped", 0, s->bundle));
  }
  return result;
}

}  // namespace berth::container
