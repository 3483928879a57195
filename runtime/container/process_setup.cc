#include "runtime/container/process_setup.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
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

absl::Status MarkFdsForClose(int preserve_fds) {
  // Everything the runtime holds (sync socket, fifo, log, ...) closes at
  // exec; only stdio and the preserved fds reach the process.
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    return ErrnoError("mark runtime file descriptors close-on-exec");
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
  BERTH_RETURN_IF_ERROR(linux_ns::ApplyLsmExecLabels(p));

  linux_ns::ExecUser user = linux_ns::LookupUser(p.user);
  BERTH_RETURN_IF_ERROR(seccomp.BeforeUserSwitch());
  BERTH_RETURN_IF_ERROR(linux_ns::PrepareCapabilitiesForUserSwitch());
  BERTH_RETURN_IF_ERROR(linux_ns::SwitchUser(p.user, user.groups));
  if (::chdir(p.cwd.c_str()) != 0) return ErrnoError(absl::StrCat("process.cwd: chdir ", p.cwd));
  BERTH_RETURN_IF_ERROR(CheckCwdInsideContainer(p.cwd));
  ExecPlan plan;
  plan.env = BuildEnv(p, user);
  BERTH_ASSIGN_OR_RETURN(plan.path, linux_ns::LookupExecutable(p.args[0], plan.env));
  BERTH_RETURN_IF_ERROR(linux_ns::CheckNotRuntimeBinary(plan.path, runtime_exe));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoError("process.noNewPrivileges");
  }
  if (p.capabilities) BERTH_RETURN_IF_ERROR(linux_ns::ApplyCapabilities(*p.capabilities));
  ::umask(p.user.umask.value_or(022));
  BERTH_RETURN_IF_ERROR(MarkFdsForClose(preserve_fds));
  BERTH_RETURN_IF_ERROR(seccomp.EndOfSetup());
  plan.seccomp = std::move(seccomp);
  return plan;
}

}  // namespace berth::container
