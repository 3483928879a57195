#include "runtime/linux/process_attrs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"
#include "runtime/linux/procfs.h"

namespace berth::linux_ns {
namespace {

// The kernel's struct sched_attr (its header clashes with glibc's <sched.h>).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

int PolicyNumber(const std::string& p) {
  if (p == "SCHED_FIFO") return SCHED_FIFO;
  if (p == "SCHED_RR") return SCHED_RR;
  if (p == "SCHED_BATCH") return SCHED_BATCH;
  if (p == "SCHED_IDLE") return SCHED_IDLE;
  if (p == "SCHED_DEADLINE") return 6;  // SCHED_DEADLINE
  return SCHED_OTHER;                   // SCHED_OTHER, and SCHED_ISO which Linux never merged
}

uint64_t FlagBits(const std::vector<std::string>& flags) {
  uint64_t bits = 0;
  for (const std::string& f : flags) {
    if (f == "SCHED_FLAG_RESET_ON_FORK") bits |= 0x01;
    if (f == "SCHED_FLAG_RECLAIM") bits |= 0x02;
    if (f == "SCHED_FLAG_DL_OVERRUN") bits |= 0x04;
    if (f == "SCHED_FLAG_KEEP_POLICY") bits |= 0x08;
    if (f == "SCHED_FLAG_KEEP_PARAMS") bits |= 0x10;
    if (f == "SCHED_FLAG_UTIL_CLAMP_MIN") bits |= 0x20;
    if (f == "SCHED_FLAG_UTIL_CLAMP_MAX") bits |= 0x40;
  }
  return bits;
}

bool AppArmorEnabled() {
  auto v = ReadFile("/sys/module/apparmor/parameters/enabled");
  return v.ok() && !v->empty() && (*v)[0] == 'Y';
}

bool SelinuxEnabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

}  // namespace

absl::Status ApplyScheduler(const spec::Scheduler& s) {
  SchedAttr attr = {};
  attr.size = sizeof attr;
  attr.sched_policy = static_cast<uint32_t>(PolicyNumber(s.policy));
  attr.sched_flags = FlagBits(s.flags);
  attr.sched_nice = s.nice;
  attr.sched_priority = static_cast<uint32_t>(s.priority);
  attr.sched_runtime = s.runtime;
  attr.sched_deadline = s.deadline;
  attr.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    return ErrnoError(absl::StrCat("process.scheduler: set ", s.policy));
  }
  return absl::OkStatus();
}

absl::Status ApplyIoPriority(const spec::IoPriority& p) {
  int cls = p.io_class == "IOPRIO_CLASS_RT" ? 1 : p.io_class == "IOPRIO_CLASS_BE" ? 2 : 3;
  constexpr int kWhoProcess = 1, kClassShift = 13;
  if (::syscall(SYS_ioprio_set, kWhoProcess, 0, (cls << kClassShift) | p.priority) != 0) {
    return ErrnoError(absl::StrCat("process.ioPriority: set ", p.io_class, " ", p.priority));
  }
  return absl::OkStatus();
}

absl::Status ApplyPersonality(const spec::Personality& p) {
  unsigned long persona = p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
  if (::personality(persona) < 0) return ErrnoError(absl::StrCat("linux.personality: ", p.domain));
  return absl::OkStatus();
}

absl::Status ApplyMemoryPolicy(const spec::MemoryPolicy& m) {
  if (::syscall(SYS_set_mempolicy, m.mode_value, m.nodemask.empty() ? nullptr : m.nodemask.data(),
                m.maxnode) != 0) {
    return ErrnoError(absl::StrCat("linux.memoryPolicy: set_mempolicy ", m.mode));
  }
  return absl::OkStatus();
}

absl::Status ValidateLsm(const spec::Spec& s) {
  if (s.process && !s.process->apparmor_profile.empty() && !AppArmorEnabled()) {
    return absl::FailedPreconditionError(
        "process.apparmorProfile: AppArmor is not enabled on this host");
  }
  if (s.process && !s.process->selinux_label.empty() && !SelinuxEnabled()) {
    return absl::FailedPreconditionError(
        "process.selinuxLabel: SELinux is not enabled on this host");
  }
  if (!s.linux_cfg.mount_label.empty()) {
    if (!SelinuxEnabled()) {
      return absl::FailedPreconditionError("linux.mountLabel: SELinux is not enabled on this host");
    }
    return absl::UnimplementedError("linux.mountLabel: not supported yet");
  }
  return absl::OkStatus();
}

absl::Status ApplyLsmExecLabels(const spec::Process& p) {
  if (!p.apparmor_profile.empty()) {
    std::string value = absl::StrCat("exec ", p.apparmor_profile);
    absl::Status st = WriteProcFile("/proc/self/attr/apparmor/exec", value);
    if (!st.ok()) st = WriteProcFile("/proc/self/attr/exec", value);  // kernels before 5.8
    BERTH_RETURN_IF_ERROR(Annotate(st, "process.apparmorProfile"));
  }
  if (!p.selinux_label.empty()) {
    BERTH_RETURN_IF_ERROR(
        Annotate(WriteProcFile("/proc/self/attr/exec", p.selinux_label), "process.selinuxLabel"));
  }
  return absl::OkStatus();
}

absl::Status EnterNewTimeNamespace(const std::map<std::string, spec::TimeOffset>& offsets) {
  // unshare(CLONE_NEWTIME) makes the namespace for our children; its offsets
  // are written now, and then we enter it ourselves.
  if (::unshare(CLONE_NEWTIME) != 0) return ErrnoError("create time namespace");
  std::string text;
  for (const auto& [clock, o] : offsets)
    absl::StrAppend(&text, clock, " ", o.secs, " ", o.nanosecs, "\n");
  if (!text.empty()) {
    BERTH_RETURN_IF_ERROR(
        Annotate(WriteProcFile("/proc/self/timens_offsets", text), "linux.timeOffsets"));
  }
  UniqueFd ns(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!ns || ::setns(ns.get(), CLONE_NEWTIME) != 0) return ErrnoError("enter time namespace");
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
