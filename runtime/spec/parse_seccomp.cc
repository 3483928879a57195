// Parser for linux.seccomp. Only the config is checked here; what libseccomp
// and the kernel make of it is for runtime/linux/seccomp_filter.cc.
#include "runtime/spec/parse_seccomp.h"

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/json_tree.h"
#include "runtime/spec/json_read.h"

namespace berth::spec {
namespace {

using json::Value;

template <typename T, size_t N>
using NameTable = std::array<std::pair<std::string_view, T>, N>;

constexpr NameTable<SeccompAction, 9> kActions = {{
    {"SCMP_ACT_KILL", SeccompAction::kKill},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
    {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
    {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
    {"SCMP_ACT_LOG", SeccompAction::kLog},
    {"SCMP_ACT_NOTIFY", SeccompAction::kNotify},
}};

constexpr NameTable<SeccompOp, 7> kOps = {{
    {"SCMP_CMP_NE", SeccompOp::kNe},
    {"SCMP_CMP_LT", SeccompOp::kLt},
    {"SCMP_CMP_LE", SeccompOp::kLe},
    {"SCMP_CMP_EQ", SeccompOp::kEq},
    {"SCMP_CMP_GE", SeccompOp::kGe},
    {"SCMP_CMP_GT", SeccompOp::kGt},
    {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEq},
}};

constexpr NameTable<SeccompArch, 19> kArches = {{
    {"SCMP_ARCH_X86", SeccompArch::kX86},
    {"SCMP_ARCH_X86_64", SeccompArch::kX86_64},
    {"SCMP_ARCH_X32", SeccompArch::kX32},
    {"SCMP_ARCH_ARM", SeccompArch::kArm},
    {"SCMP_ARCH_AARCH64", SeccompArch::kAarch64},
    {"SCMP_ARCH_MIPS", SeccompArch::kMips},
    {"SCMP_ARCH_MIPS64", SeccompArch::kMips64},
    {"SCMP_ARCH_MIPS64N32", SeccompArch::kMips64N32},
    {"SCMP_ARCH_MIPSEL", SeccompArch::kMipsel},
    {"SCMP_ARCH_MIPSEL64", SeccompArch::kMipsel64},
    {"SCMP_ARCH_MIPSEL64N32", SeccompArch::kMipsel64N32},
    {"SCMP_ARCH_PPC", SeccompArch::kPpc},
    {"SCMP_ARCH_PPC64", SeccompArch::kPpc64},
    {"SCMP_ARCH_PPC64LE", SeccompArch::kPpc64Le},
    {"SCMP_ARCH_S390", SeccompArch::kS390},
    {"SCMP_ARCH_S390X", SeccompArch::kS390X},
    {"SCMP_ARCH_PARISC", SeccompArch::kParisc},
    {"SCMP_ARCH_PARISC64", SeccompArch::kParisc64},
    {"SCMP_ARCH_RISCV64", SeccompArch::kRiscv64},
}};

constexpr NameTable<SeccompFlag, 4> kFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", SeccompFlag::kTsync},
    {"SECCOMP_FILTER_FLAG_LOG", SeccompFlag::kLog},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SeccompFlag::kSpecAllow},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SeccompFlag::kWaitKillableRecv},
}};

template <typename T, size_t N>
const char* NameOf(const NameTable<T, N>& table, T value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name.data();  // the literals are NUL-terminated
  }
  return "?";
}

// Reads a required string naming one entry of `table`; `what` names the
// kind in the error ("action", "operator", ...).
template <typename T, size_t N>
absl::StatusOr<T> Lookup(const Value& v, const NameTable<T, N>& table, absl::string_view what) {
  BERTH_ASSIGN_OR_RETURN(std::string name, RequiredString(v));
  for (const auto& [n, value] : table) {
    if (n == name) return value;
  }
  return v.Error(absl::StrCat("unknown ", what, " \"", name, "\""));
}

template <typename T, size_t N>
absl::Status LookupList(const Value& v, const NameTable<T, N>& table, absl::string_view what,
                        std::vector<T>* out) {
  if (!Absent(v) && !v.is_array()) return v.Error("must be an array of strings");
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(T value, Lookup(e, table, what));
    out->push_back(value);
    return absl::OkStatus();
  });
}

bool TakesErrno(SeccompAction a) {
  return a == SeccompAction::kErrno || a == SeccompAction::kTrace;
}

// The kernel keeps 16 bits of an action's data (SECCOMP_RET_DATA).
constexpr uint32_t kMaxErrno = 0xffff;

// errnoRet/defaultErrnoRet: the runtime-spec says a runtime MUST fail when
// the action has no errno to return.
absl::Status ReadErrnoRet(const Value& v, SeccompAction action, std::optional<uint32_t>* out) {
  BERTH_RETURN_IF_ERROR(ReadUint32(v, out));
  if (!*out) return absl::OkStatus();
  if (!TakesErrno(action)) {
    return v.Error(absl::StrCat("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not ",
                                SeccompActionName(action)));
  }
  if (**out > kMaxErrno) return v.Error(absl::StrCat(**out, " does not fit in 16 bits"));
  return absl::OkStatus();
}

absl::StatusOr<SeccompArg> ParseArg(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  SeccompArg arg;
  Value index = v.Get("index");
  BERTH_ASSIGN_OR_RETURN(arg.index, RequiredUint32(index));
  if (arg.index > 5) return index.Error("must be between 0 and 5 (syscalls have 6 arguments)");
  BERTH_ASSIGN_OR_RETURN(arg.value, RequiredUint64(v.Get("value")));
  BERTH_RETURN_IF_ERROR(ReadUint64(v.Get("valueTwo"), &arg.value_two));
  BERTH_ASSIGN_OR_RETURN(arg.op, Lookup(v.Get("op"), kOps, "operator"));
  return arg;
}

absl::Status ParseNames(const Value& v, std::vector<std::string>* out) {
  auto names = v.AsStringArray();
  if (Absent(v) || !names.ok() || names->empty()) {
    return v.Error("must be a non-empty array of syscall names");
  }
  for (size_t i = 0; i < names->size(); ++i) {
    if ((*names)[i].empty()) return v.Elements()[i].Error("must not be empty");
  }
  *out = std::move(*names);
  return absl::OkStatus();
}

// The init hands the notify fd to the runtime with sendmsg, after the
// filter is in: a notified sendmsg would wait for an agent that has no fd.
absl::Status CheckNotifiable(const Value& names, const SeccompSyscall& sc) {
  if (sc.action != SeccompAction::kNotify) return absl::OkStatus();
  for (size_t i = 0; i < sc.names.size(); ++i) {
    if (sc.names[i] == "sendmsg") {
      return names.Elements()[i].Error(
          "SCMP_ACT_NOTIFY cannot be used for sendmsg (berth uses it to pass the notify fd on)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SeccompSyscall> ParseSyscall(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  SeccompSyscall sc;
  BERTH_RETURN_IF_ERROR(ParseNames(v.Get("names"), &sc.names));
  BERTH_ASSIGN_OR_RETURN(sc.action, Lookup(v.Get("action"), kActions, "action"));
  BERTH_RETURN_IF_ERROR(CheckNotifiable(v.Get("names"), sc));
  BERTH_RETURN_IF_ERROR(ReadErrnoRet(v.Get("errnoRet"), sc.action, &sc.errno_ret));
  BERTH_RETURN_IF_ERROR(ForEachElement(v.Get("args"), [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(SeccompArg arg, ParseArg(e));
    sc.args.push_back(arg);
    return absl::OkStatus();
  }));
  return sc;
}

absl::Status ParseSyscalls(const Value& v, std::vector<SeccompSyscall>* out) {
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(SeccompSyscall sc, ParseSyscall(e));
    out->push_back(std::move(sc));
    return absl::OkStatus();
  });
}

absl::Status CheckListener(const Value& v, const Seccomp& s) {
  if (!s.listener_metadata.empty() && s.listener_path.empty()) {
    return v.Get("listenerMetadata").Error("must not be set without listenerPath");
  }
  // Without a notify action listenerPath is ignored, as the spec says.
  if (s.UsesNotify() && s.listener_path.empty()) {
    return v.Get("listenerPath").Error("is required when an action is SCMP_ACT_NOTIFY");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Seccomp> ParseSeccomp(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Seccomp s;
  Value def = v.Get("defaultAction");
  BERTH_ASSIGN_OR_RETURN(s.default_action, Lookup(def, kActions, "action"));
  if (s.default_action == SeccompAction::kNotify) {
    // The init itself makes syscalls after loading the filter (at least the
    // one that hands the notify fd out): they must not wait for an agent.
    return def.Error("SCMP_ACT_NOTIFY cannot be the default action");
  }
  BERTH_RETURN_IF_ERROR(
      ReadErrnoRet(v.Get("defaultErrnoRet"), s.default_action, &s.default_errno_ret));
  BERTH_RETURN_IF_ERROR(
      LookupList(v.Get("architectures"), kArches, "architecture", &s.architectures));
  BERTH_RETURN_IF_ERROR(LookupList(v.Get("flags"), kFlags, "flag", &s.flags));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("listenerPath"), &s.listener_path));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("listenerMetadata"), &s.listener_metadata));
  BERTH_RETURN_IF_ERROR(ParseSyscalls(v.Get("syscalls"), &s.syscalls));
  BERTH_RETURN_IF_ERROR(CheckListener(v, s));
  return s;
}

const char* SeccompActionName(SeccompAction a) { return NameOf(kActions, a); }
const char* SeccompOpName(SeccompOp op) { return NameOf(kOps, op); }
const char* SeccompArchName(SeccompArch a) { return NameOf(kArches, a); }
const char* SeccompFlagName(SeccompFlag f) { return NameOf(kFlags, f); }

}  // namespace berth::spec
