#include <linux/seccomp.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/linux/seccomp_filter.h"
#include "runtime/spec/parser.h"

namespace berth::spec {
namespace {

// A valid spec whose linux.seccomp is `seccomp` (a JSON object).
std::string WithSeccomp(absl::string_view seccomp) {
  return absl::StrCat(
      R"({"ociVersion": "1.2.0", "root": {"path": "rootfs"}, "linux": {"seccomp": )", seccomp,
      "}}");
}

Seccomp MustParse(absl::string_view seccomp) {
  std::string json = WithSeccomp(seccomp);
  absl::StatusOr<Spec> spec = ParseSpec(json);
  INFO(json);
  if (!spec.ok()) FAIL(spec.status().message());
  REQUIRE(spec->linux_cfg.seccomp.has_value());
  return *spec->linux_cfg.seccomp;
}

std::string ErrorOf(absl::string_view seccomp) {
  std::string json = WithSeccomp(seccomp);
  absl::StatusOr<Spec> spec = ParseSpec(json);
  INFO(json);
  REQUIRE_FALSE(spec.ok());
  CHECK(absl::IsInvalidArgument(spec.status()));
  return std::string(spec.status().message());
}

TEST_CASE("seccomp is optional", "[seccomp]") {
  absl::StatusOr<Spec> spec =
      ParseSpec(R"({"ociVersion": "1.2.0", "root": {"path": "r"}, "linux": {"seccomp": null}})");
  REQUIRE(spec.ok());
  CHECK_FALSE(spec->linux_cfg.seccomp.has_value());
}

TEST_CASE("A full seccomp profile parses", "[seccomp]") {
  Seccomp s = MustParse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_RISCV64"],
    "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
    "listenerPath": "/run/agent.sock", "listenerMetadata": "meta",
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 255, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["ptrace"], "action": "SCMP_ACT_TRACE", "errnoRet": 5}
    ]})");
  CHECK(s.default_action == SeccompAction::kErrno);
  CHECK(s.default_errno_ret == 38u);
  CHECK(s.architectures ==
        std::vector<SeccompArch>{SeccompArch::kX86_64, SeccompArch::kX86, SeccompArch::kRiscv64});
  CHECK(s.flags == std::vector<SeccompFlag>{SeccompFlag::kLog, SeccompFlag::kWaitKillableRecv});
  CHECK(s.HasFlag(SeccompFlag::kLog));
  CHECK_FALSE(s.HasFlag(SeccompFlag::kTsync));
  CHECK(s.listener_path == "/run/agent.sock");
  CHECK(s.listener_metadata == "meta");
  REQUIRE(s.syscalls.size() == 4);
  CHECK(s.syscalls[0].names == std::vector<std::string>{"read", "write"});
  CHECK(s.syscalls[0].action == SeccompAction::kAllow);
  CHECK_FALSE(s.syscalls[0].errno_ret.has_value());
  CHECK(s.syscalls[1].action == SeccompAction::kNotify);
  CHECK(s.UsesNotify());
  REQUIRE(s.syscalls[2].args.size() == 2);
  CHECK(s.syscalls[2].args[0].index == 0);
  CHECK(s.syscalls[2].args[0].value == 8);
  CHECK(s.syscalls[2].args[0].op == SeccompOp::kEq);
  CHECK(s.syscalls[2].args[1].value == 255);
  CHECK(s.syscalls[2].args[1].value_two == 4);
  CHECK(s.syscalls[2].args[1].op == SeccompOp::kMaskedEq);
  CHECK(s.syscalls[3].errno_ret == 5u);
}

TEST_CASE("Every action, operator, architecture and flag name is known", "[seccomp]") {
  for (const char* a :
       {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"}) {
    Seccomp s = MustParse(absl::StrCat(R"({"defaultAction": ")", a, R"("})"));
    CHECK(std::string(SeccompActionName(s.default_action)) == a);
  }
  for (const char* op : {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                         "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}) {
    Seccomp s = MustParse(absl::StrCat(
        R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
            "action": "SCMP_ACT_LOG", "args": [{"index": 5, "value": 1, "op": ")",
        op, R"("}]}]})"));
    CHECK(std::string(SeccompOpName(s.syscalls[0].args[0].op)) == op);
  }
  for (const char* arch :
       {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"}) {
    Seccomp s = MustParse(
        absl::StrCat(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [")", arch, R"("]})"));
    CHECK(std::string(SeccompArchName(s.architectures[0])) == arch);
  }
  for (const char* flag :
       {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}) {
    Seccomp s = MustParse(
        absl::StrCat(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": [")", flag, R"("]})"));
    CHECK(std::string(SeccompFlagName(s.flags[0])) == flag);
  }
}

TEST_CASE("seccomp errors name the JSON path", "[seccomp]") {
  CHECK(ErrorOf("[]") == "linux.seccomp: must be an object");
  CHECK(ErrorOf("{}") == "linux.seccomp.defaultAction: is required");
  CHECK(ErrorOf(R"({"defaultAction": 1})") == "linux.seccomp.defaultAction: must be a string");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_FOO"})") ==
        "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_FOO\"");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"})") ==
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1})") ==
        "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, "
        "not SCMP_ACT_ALLOW");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1})") ==
        "linux.seccomp.defaultErrnoRet: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": "SCMP_ARCH_X86"})") ==
        "linux.seccomp.architectures: must be an array of strings");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_Z80"]})") ==
        "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]})") ==
        "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\"");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m"})") ==
        "linux.seccomp.listenerMetadata: must not be set without listenerPath");
}

TEST_CASE("seccomp syscall errors name the rule", "[seccomp]") {
  auto with_rules = [](absl::string_view rules) {
    return ErrorOf(
        absl::StrCat(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [)", rules, "]}"));
  };
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG"},
                      {"names": ["a"], "action": "SCMP_ACT_FOO"})") ==
        "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
  CHECK(with_rules(R"({"names": ["read"]})") == "linux.seccomp.syscalls[0].action: is required");
  CHECK(with_rules(R"({"action": "SCMP_ACT_LOG"})") ==
        "linux.seccomp.syscalls[0].names: must be a non-empty array of syscall names");
  CHECK(with_rules(R"({"names": [], "action": "SCMP_ACT_LOG"})") ==
        "linux.seccomp.syscalls[0].names: must be a non-empty array of syscall names");
  CHECK(with_rules(R"({"names": ["read", ""], "action": "SCMP_ACT_LOG"})") ==
        "linux.seccomp.syscalls[0].names[1]: must not be empty");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1})") ==
        "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an "
        "errno, not SCMP_ACT_KILL");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG", "args": {}})") ==
        "linux.seccomp.syscalls[0].args: must be an array");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG",
                       "args": [{"value": 1, "op": "SCMP_CMP_EQ"}]})") ==
        "linux.seccomp.syscalls[0].args[0].index: is required");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG",
                       "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})") ==
        "linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5 (syscalls have 6 "
        "arguments)");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG",
                       "args": [{"index": 0, "op": "SCMP_CMP_EQ"}]})") ==
        "linux.seccomp.syscalls[0].args[0].value: is required");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG",
                       "args": [{"index": 0, "value": 1, "valueTwo": -2, "op": "SCMP_CMP_EQ"}]})") ==
        "linux.seccomp.syscalls[0].args[0].valueTwo: must be a non-negative integer");
  CHECK(with_rules(R"({"names": ["read"], "action": "SCMP_ACT_LOG",
                       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]})") ==
        "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_LIKE\"");
  CHECK(with_rules(R"({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"})") ==
        "linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY");
}

// Checked before anything is created, not by the container's init.
TEST_CASE("errnoRet must fit the kernel's 16 bits", "[seccomp]") {
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 65536})") ==
        "linux.seccomp.defaultErrnoRet: 65536 does not fit in 16 bits");
  CHECK(MustParse(R"({"defaultAction": "SCMP_ACT_TRACE", "defaultErrnoRet": 65535})")
            .default_errno_ret == 65535u);
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["a"], "action": "SCMP_ACT_LOG"}, {"names": ["b"], "action": "SCMP_ACT_LOG"},
            {"names": ["c"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65535},
            {"names": ["d"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]})") ==
        "linux.seccomp.syscalls[3].errnoRet: 70000 does not fit in 16 bits");
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["d"], "action": "SCMP_ACT_TRACE", "errnoRet": 4294967295}]})") ==
        "linux.seccomp.syscalls[0].errnoRet: 4294967295 does not fit in 16 bits");
}

TEST_CASE("SCMP_ACT_NOTIFY cannot be used for sendmsg", "[seccomp]") {
  CHECK(ErrorOf(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
      "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["mkdir", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]})") ==
        "linux.seccomp.syscalls[1].names[1]: SCMP_ACT_NOTIFY cannot be used for sendmsg (berth "
        "uses it to pass the notify fd on)");
  // Other actions on sendmsg are fine.
  Seccomp s = MustParse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
      "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_ERRNO"},
                   {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})");
  CHECK(s.syscalls.size() == 2);
}

TEST_CASE("listenerPath without a notify action is ignored", "[seccomp]") {
  Seccomp s = MustParse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock"})");
  CHECK(s.listener_path == "/a.sock");
  CHECK_FALSE(s.UsesNotify());
}

// ---- compiling with libseccomp (no root needed: nothing is loaded) ----

absl::StatusOr<linux_ns::SeccompProgram> Compile(absl::string_view seccomp) {
  return linux_ns::CompileSeccomp(MustParse(seccomp));
}

TEST_CASE("Profiles compile to BPF with the kernel flags", "[seccomp]") {
  auto p = Compile(R"({"defaultAction": "SCMP_ACT_ERRNO",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      "syscalls": [{"names": ["read", "write", "socketcall", "no_such_syscall"],
                    "action": "SCMP_ACT_ALLOW"},
                   {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                             {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]})");
  REQUIRE(p.ok());
  CHECK(p->bpf.size() > 10);
  CHECK_FALSE(p->notify());
  // WAIT_KILLABLE_RECV only goes with a listener.
  CHECK(p->flags ==
        (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_TSYNC));
}

TEST_CASE("A notify rule asks the kernel for a listener", "[seccomp]") {
  auto p = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
      "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})");
  REQUIRE(p.ok());
  CHECK(p->notify());
  CHECK(p->flags == (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
                     SECCOMP_FILTER_FLAG_TSYNC_ESRCH | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV));
}

TEST_CASE("A notify rule of unknown syscalls only asks for no listener", "[seccomp]") {
  auto p = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock",
      "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_NOTIFY"}]})");
  REQUIRE(p.ok());
  CHECK_FALSE(p->notify());
  CHECK(p->flags == SECCOMP_FILTER_FLAG_TSYNC);
}

TEST_CASE("Rules that repeat the default action are left out", "[seccomp]") {
  auto with = Compile(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})");
  auto without = Compile(R"({"defaultAction": "SCMP_ACT_ERRNO"})");
  REQUIRE(with.ok());
  REQUIRE(without.ok());
  CHECK(with->bpf.size() == without->bpf.size());
}

TEST_CASE("Compile errors name the field", "[seccomp]") {
#if defined(__x86_64__)
  auto p = Compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_S390X"]})");
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message() ==
        "linux.seccomp.architectures[0] (SCMP_ARCH_S390X): its byte order differs from the "
        "native architecture's");
#endif
}

}  // namespace
}  // namespace berth::spec
