#include "runtime/linux/seccomp_filter.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/log.h"

namespace berth::linux_ns {
namespace {

using spec::SeccompAction;
using spec::SeccompArch;
using spec::SeccompFlag;
using spec::SeccompOp;

constexpr char kField[] = "linux.seccomp";

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

uint32_t ActionValue(SeccompAction a, std::optional<uint32_t> errno_ret) {
  // The runtime-spec's default errno is EPERM.
  uint32_t data = errno_ret.value_or(EPERM);
  switch (a) {
    case SeccompAction::kKill:
      return SCMP_ACT_KILL;
    case SeccompAction::kKillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kKillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kTrap:
      return SCMP_ACT_TRAP;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(data);
    case SeccompAction::kTrace:
      return SCMP_ACT_TRACE(data);
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kLog:
      return SCMP_ACT_LOG;
    case SeccompAction::kNotify:
      return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL_PROCESS;
}

uint32_t ArchToken(SeccompArch a) {
  switch (a) {
    case SeccompArch::kX86:
      return SCMP_ARCH_X86;
    case SeccompArch::kX86_64:
      return SCMP_ARCH_X86_64;
    case SeccompArch::kX32:
      return SCMP_ARCH_X32;
    case SeccompArch::kArm:
      return SCMP_ARCH_ARM;
    case SeccompArch::kAarch64:
      return SCMP_ARCH_AARCH64;
    case SeccompArch::kMips:
      return SCMP_ARCH_MIPS;
    case SeccompArch::kMips64:
      return SCMP_ARCH_MIPS64;
    case SeccompArch::kMips64N32:
      return SCMP_ARCH_MIPS64N32;
    case SeccompArch::kMipsel:
      return SCMP_ARCH_MIPSEL;
    case SeccompArch::kMipsel64:
      return SCMP_ARCH_MIPSEL64;
    case SeccompArch::kMipsel64N32:
      return SCMP_ARCH_MIPSEL64N32;
    case SeccompArch::kPpc:
      return SCMP_ARCH_PPC;
    case SeccompArch::kPpc64:
      return SCMP_ARCH_PPC64;
    case SeccompArch::kPpc64Le:
      return SCMP_ARCH_PPC64LE;
    case SeccompArch::kS390:
      return SCMP_ARCH_S390;
    case SeccompArch::kS390X:
      return SCMP_ARCH_S390X;
    case SeccompArch::kParisc:
      return SCMP_ARCH_PARISC;
    case SeccompArch::kParisc64:
      return SCMP_ARCH_PARISC64;
    case SeccompArch::kRiscv64:
      return SCMP_ARCH_RISCV64;
  }
  return SCMP_ARCH_NATIVE;
}

enum scmp_compare CompareOp(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNe:
      return SCMP_CMP_NE;
    case SeccompOp::kLt:
      return SCMP_CMP_LT;
    case SeccompOp::kLe:
      return SCMP_CMP_LE;
    case SeccompOp::kEq:
      return SCMP_CMP_EQ;
    case SeccompOp::kGe:
      return SCMP_CMP_GE;
    case SeccompOp::kGt:
      return SCMP_CMP_GT;
    case SeccompOp::kMaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return _SCMP_CMP_MIN;
}

// libseccomp reports errors as negative errno values.
absl::Status LibseccompError(int rc, absl::string_view what) {
  return ErrnoError(-rc, absl::StrCat(what, ": libseccomp"));
}

absl::Status AddArchitectures(void* ctx, const spec::Seccomp& c) {
  for (size_t i = 0; i < c.architectures.size(); ++i) {
    int rc = seccomp_arch_add(ctx, ArchToken(c.architectures[i]));
    if (rc == -EEXIST) continue;  // the native one, or listed twice
    std::string field = absl::StrCat(kField, ".architectures[", i, "] (",
                                     spec::SeccompArchName(c.architectures[i]), ")");
    if (rc == -EDOM) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": its byte order differs from the native architecture's"));
    }
    if (rc != 0) return LibseccompError(rc, field);
  }
  return absl::OkStatus();
}

scmp_arg_cmp Condition(const spec::SeccompArg& a) {
  // For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the expected
  // result; the other operators ignore valueTwo.
  return scmp_arg_cmp{a.index, CompareOp(a.op), a.value, a.value_two};
}

bool RepeatsAnIndex(const std::vector<spec::SeccompArg>& args) {
  bool seen[6] = {};
  for (const spec::SeccompArg& a : args) {
    if (seen[a.index]) return true;
    seen[a.index] = true;
  }
  return false;
}

// One rule for a syscall number. libseccomp cannot AND two conditions on
// the same argument; such a list means "any of them" (one rule each), which
// is what profiles written for runc expect.
int AddRule(void* ctx, uint32_t action, int nr, const std::vector<spec::SeccompArg>& args) {
  std::vector<scmp_arg_cmp> conds;
  for (const spec::SeccompArg& a : args) conds.push_back(Condition(a));
  if (!RepeatsAnIndex(args)) {
    return seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                  conds.data());
  }
  for (const scmp_arg_cmp& c : conds) {
    if (int rc = seccomp_rule_add_array(ctx, action, nr, 1, &c); rc != 0) return rc;
  }
  return 0;
}

absl::Status AddSyscall(void* ctx, const spec::SeccompSyscall& sc, size_t i,
                        uint32_t default_action, bool* notify) {
  std::string field = absl::StrCat(kField, ".syscalls[", i, "]");
  uint32_t action = ActionValue(sc.action, sc.errno_ret);
  // libseccomp refuses rules that only repeat the default action.
  if (action == default_action) return absl::OkStatus();
  for (const std::string& name : sc.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      log::Debug(absl::StrCat(field, ": unknown syscall \"", name, "\" skipped"));
      continue;
    }
    if (int rc = AddRule(ctx, action, nr, sc.args); rc != 0) {
      return LibseccompError(
          rc, absl::StrCat(field, " (", name, ", ", spec::SeccompActionName(sc.action), ")"));
    }
    *notify |= sc.action == SeccompAction::kNotify;
  }
  return absl::OkStatus();
}

// libseccomp writes BPF only to an fd: a memfd, read back whole.
absl::StatusOr<std::vector<struct sock_filter>> ExportBpf(void* ctx) {
  UniqueFd mem(::memfd_create("berth-seccomp", MFD_CLOEXEC));
  if (!mem) return ErrnoError(absl::StrCat(kField, ": memfd_create"));
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc != 0) {
    return LibseccompError(rc, absl::StrCat(kField, ": generate BPF"));
  }
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size < 0) return ErrnoError(absl::StrCat(kField, ": read BPF"));
  std::vector<struct sock_filter> bpf(static_cast<size_t>(size) / sizeof(struct sock_filter));
  size_t bytes = bpf.size() * sizeof(struct sock_filter);
  if (::pread(mem.get(), bpf.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
    return ErrnoError(absl::StrCat(kField, ": read BPF"));
  }
  if (bpf.empty() || bpf.size() > BPF_MAXINSNS) {
    return absl::InvalidArgumentError(absl::StrCat(kField, ": the filter has ", bpf.size(),
                                                   " instructions; the kernel takes 1 to ",
                                                   BPF_MAXINSNS));
  }
  return bpf;
}

unsigned int KernelFlags(const spec::Seccomp& c, bool notify) {
  unsigned int flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (SeccompFlag f : c.flags) flags |= KernelFlagBits(f, notify);
  return flags;
}

}  // namespace

absl::StatusOr<SeccompProgram> CompileSeccomp(const spec::Seccomp& c) {
  uint32_t default_action = ActionValue(c.default_action, c.default_errno_ret);
  Ctx ctx(seccomp_init(default_action));
  if (!ctx) {
    return absl::InvalidArgumentError(absl::StrCat(kField, ".defaultAction: libseccomp refused ",
                                                   spec::SeccompActionName(c.default_action)));
  }
  BERTH_RETURN_IF_ERROR(AddArchitectures(ctx.get(), c));
  // Only rules that made it in count: names libseccomp does not know are
  // skipped, and a notify rule with none left needs no listener.
  bool notify = false;
  for (size_t i = 0; i < c.syscalls.size(); ++i) {
    BERTH_RETURN_IF_ERROR(AddSyscall(ctx.get(), c.syscalls[i], i, default_action, &notify));
  }
  SeccompProgram program;
  BERTH_ASSIGN_OR_RETURN(program.bpf, ExportBpf(ctx.get()));
  program.flags = KernelFlags(c, notify);
  return program;
}

bool SeccompProgram::notify() const { return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0; }

unsigned int KernelFlagBits(SeccompFlag f, bool listener) {
  switch (f) {
    case SeccompFlag::kTsync:
      // The kernel refuses TSYNC with a listener unless failures are ESRCH.
      return SECCOMP_FILTER_FLAG_TSYNC | (listener ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
    case SeccompFlag::kLog:
      return SECCOMP_FILTER_FLAG_LOG;
    case SeccompFlag::kSpecAllow:
      return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    case SeccompFlag::kWaitKillableRecv:
      // Only meaningful for a listener (the kernel refuses it alone).
      return listener ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
  }
  return 0;
}

bool KernelSupports(SeccompFlag f) {
  unsigned long bits = KernelFlagBits(f, /*listener=*/false);
  if (bits == 0) bits = KernelFlagBits(f, /*listener=*/true) | SECCOMP_FILTER_FLAG_NEW_LISTENER;
  // Unknown flags are EINVAL; known ones get as far as reading the
  // program, which is NULL: nothing is ever installed.
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bits, nullptr) < 0 && errno == EFAULT;
}

absl::StatusOr<UniqueFd> LoadSeccomp(const SeccompProgram& p) {
  struct sock_fprog prog = {static_cast<unsigned short>(p.bpf.size()),
                            const_cast<struct sock_filter*>(p.bpf.data())};
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &prog);
  if (rc < 0) {
    const char* hint = errno == EACCES   ? " (needs CAP_SYS_ADMIN or process.noNewPrivileges)"
                       : errno == EINVAL ? " (kernel refused the filter or its flags)"
                                         : "";
    return ErrnoError(absl::StrCat(kField, ": load the filter", hint));
  }
  if (p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) return UniqueFd(static_cast<int>(rc));
  if (rc > 0) {
    // TSYNC without a listener returns the thread that could not follow.
    return absl::InternalError(
        absl::StrCat(kField, ": SECCOMP_FILTER_FLAG_TSYNC failed for thread ", rc));
  }
  return UniqueFd();
}

}  // namespace berth::linux_ns
