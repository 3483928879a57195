// linux.seccomp (runtime-spec config-linux.md "Seccomp") as a typed model.
// The names are libseccomp's; parse_seccomp.h reads it from JSON and
// runtime/linux/seccomp_filter.h turns it into BPF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::spec {

enum class SeccompAction {
  kKill,  // SCMP_ACT_KILL: the thread (an alias of kKillThread)
  kKillProcess,
  kKillThread,
  kTrap,
  kErrno,
  kTrace,
  kAllow,
  kLog,
  kNotify,
};

enum class SeccompOp { kNe, kLt, kLe, kEq, kGe, kGt, kMaskedEq };

enum class SeccompArch {
  kX86,
  kX86_64,
  kX32,
  kArm,
  kAarch64,
  kMips,
  kMips64,
  kMips64N32,
  kMipsel,
  kMipsel64,
  kMipsel64N32,
  kPpc,
  kPpc64,
  kPpc64Le,
  kS390,
  kS390X,
  kParisc,
  kParisc64,
  kRiscv64,
};

enum class SeccompFlag { kTsync, kLog, kSpecAllow, kWaitKillableRecv };

struct SeccompArg {
  uint32_t index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;  // the compared value for kMaskedEq (value is the mask)
  SeccompOp op = SeccompOp::kEq;
};

struct SeccompSyscall {
  std::vector<std::string> names;  // non-empty
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;  // only for kErrno and kTrace
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;  // only for kErrno and kTrace
  std::vector<SeccompArch> architectures;
  std::vector<SeccompFlag> flags;
  std::string listener_path;  // required when some action is kNotify
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;

  // Some rule is SCMP_ACT_NOTIFY (the parser refuses it as the default).
  bool UsesNotify() const {
    for (const SeccompSyscall& s : syscalls)
      if (s.action == SeccompAction::kNotify) return true;
    return false;
  }
  bool HasFlag(SeccompFlag f) const {
    for (SeccompFlag g : flags)
      if (g == f) return true;
    return false;
  }
};

// The spec's spelling: "SCMP_ACT_ERRNO", "SCMP_CMP_EQ", "SCMP_ARCH_X86_64",
// "SECCOMP_FILTER_FLAG_LOG".
const char* SeccompActionName(SeccompAction a);
const char* SeccompOpName(SeccompOp op);
const char* SeccompArchName(SeccompArch a);
const char* SeccompFlagName(SeccompFlag f);

}  // namespace berth::spec
