#include "runtime/container/process_setup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/exec_lookup.h"
#include "runtime/linux/process_attrs.h"
#include "runtime/linux/process_limits.h"
#include "runtime/linux/user.h"

namespace berth::container {
namespace {

std::vector<std::string> BuildEnv(const spec::Process& p, const linux_ns::ExecUser& user) {
  std::vector<std::string> env = p.env;
  bool has_home = false;
  for (const std::string& e : env) has_home |= absl::StartsWith(e, "HOME=");
  if (!has_home) env.push_back(absl::StrCat("HOME=", user.home));
  return env;
}

// Where close_range is missing (ENOSYS) or refused: every open fd above
// the preserved ones, from /proc/self/fd.
absl::Status MarkFdsForCloseOneByOne(int first) {
  UniqueFd dirfd(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) return ErrnoError("mark runtime file descriptors close-on-exec: open /proc/self/fd");
  DIR* dir = ::fdopendir(dirfd.get());
  if (dir == nullptr)
    return ErrnoError("mark runtime file descriptors close-on-exec: read /proc/self/fd");
  dirfd.release();
  int own = ::dirfd(dir);
  absl::Status status;
  while (struct dirent* e = ::readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd < first || fd == own) continue;
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 && errno != EBADF) {
      status = ErrnoError(absl::StrCat("mark runtime file descriptor ", fd, " close-on-exec"));
      break;
    }
  }
  ::closedir(dir);
  return status;
}

absl::Status MarkFdsForClose(int preserve_fds) {
  // Everything the runtime holds (sync socket, fifo, log, ...) closes at
  // exec; only stdio and the preserved fds reach the process.
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    BERTH_RETURN_IF_ERROR(MarkFdsForCloseOneByOne(static_cast<int>(first)));
  }
  for (int fd = 3; fd < static_cast<int>(first); ++fd) {
    if (::fcntl(fd, F_SETFD, 0) != 0) return ErrnoError(absl::StrCat("--preserve-fds: fd ", fd));
  }
  return absl::OkStatus();
}

// CVE-2024-21626: a cwd such as /proc/self/fd/N naming a directory fd the
// runtime still held would put the process in the host's filesystem. After
// chdir, the kernel must see the cwd inside our root.
absl::Status CheckCwdInsideContainer(const std::string& cwd) {
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') {
    return absl::PermissionDeniedError(
        absl::StrCat("process.cwd: ", cwd, " is outside the container's root filesystem"));
  }
  return absl::OkStatus();
}

// The filter, then what must follow it.
absl::Status FinishUnderFilter(ExecPlan& plan) {
  BERTH_RETURN_IF_ERROR(plan.seccomp.Load());
  if (plan.capabilities_after_filter) {
    BERTH_RETURN_IF_ERROR(linux_ns::SetProcessCapabilities(*plan.capabilities_after_filter));
    plan.capabilities_after_filter.reset();
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

absl::StatusOr<ExecPlan> SetUpProcess(const spec::Spec& s, const spec::Process& p,
                                      InitSeccomp seccomp, int preserve_fds,
                                      const linux_ns::FileId& runtime_exe) {
  BERTH_RETURN_IF_ERROR(linux_ns::ApplyRlimits(p.rlimits));
  if (p.scheduler) BERTH_RETURN_IF_ERROR(linux_ns::ApplyScheduler(*p.scheduler));
  if (p.io_priority) BERTH_RETURN_IF_ERROR(linux_ns::ApplyIoPriority(*p.io_priority));
  if (s.linux_cfg.personality) {
    BERTH_RETURN_IF_ERROR(linux_ns::ApplyPersonality(*s.linux_cfg.personality));
  }
  if (s.linux_cfg.memory_policy) {
    BERTH_RETURN_IF_ERROR(linux_ns::ApplyMemoryPolicy(*s.linux_cfg.memory_policy));
  }
  BERTH_RETURN_IF_ERROR(linux_ns::ApplyLsmExecLabels(p));

  std::optional<linux_ns::CapabilityPlan> caps;
  if (p.capabilities) {
    BERTH_ASSIGN_OR_RETURN(caps, linux_ns::ResolveCapabilities(*p.capabilities));
  }
  linux_ns::ExecUser user = linux_ns::LookupUser(p.user);
  if (!p.terminal) BERTH_RETURN_IF_ERROR(linux_ns::ChownStdio(p.user));
  // The user switch keeps the permitted set (KEEPCAPS): what is still to
  // come may need some of it, the filter's load CAP_SYS_ADMIN.
  BERTH_RETURN_IF_ERROR(linux_ns::PrepareCapabilitiesForUserSwitch());
  BERTH_RETURN_IF_ERROR(linux_ns::SwitchUser(p.user, user.groups));
  if (::chdir(p.cwd.c_str()) != 0) return ErrnoError(absl::StrCat("process.cwd: chdir ", p.cwd));
  BERTH_RETURN_IF_ERROR(CheckCwdInsideContainer(p.cwd));
  ExecPlan plan;
  plan.args = p.args;
  plan.env = BuildEnv(p, user);
  BERTH_ASSIGN_OR_RETURN(plan.path, linux_ns::LookupExecutable(p.args[0], plan.env));
  BERTH_RETURN_IF_ERROR(linux_ns::CheckNotRuntimeBinary(plan.path, runtime_exe));
  ::umask(p.user.umask.value_or(022));
  BERTH_RETURN_IF_ERROR(MarkFdsForClose(preserve_fds));
  if (caps) BERTH_RETURN_IF_ERROR(linux_ns::DropBoundingSet(*caps));
  if (seccomp.needs_privilege()) {
    linux_ns::RaiseEffective(CAP_SYS_ADMIN);
    plan.capabilities_after_filter = std::move(caps);
  } else if (caps) {
    BERTH_RETURN_IF_ERROR(linux_ns::SetProcessCapabilities(*caps));
  }
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoError("process.noNewPrivileges");
  }
  plan.seccomp = std::move(seccomp);
  if (plan.seccomp.loads_at_end_of_setup()) BERTH_RETURN_IF_ERROR(FinishUnderFilter(plan));
  return plan;
}

absl::Status ExecProcess(ExecPlan& plan) {
  std::vector<char*> argv = CStrings(plan.args);
  std::vector<char*> envp = CStrings(plan.env);
  BERTH_RETURN_IF_ERROR(FinishUnderFilter(plan));
  ::execve(plan.path.c_str(), argv.data(), envp.data());
  int err = errno;  // before anything allocates
  absl::Status st = ErrnoError(err, absl::StrCat("exec ", plan.path));
  return absl::Status(st.code(), absl::StrCat(st.message(), plan.seccomp.ExecveFailureNote(err)));
}

}  // namespace berth::container
