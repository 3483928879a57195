#include "supervisor/daemon/default_seccomp.h"

#include <algorithm>

namespace berth::supervisor {
namespace {

struct Guarded {
  const char* capability;  // nullptr: refused whatever the capabilities
  std::vector<const char*> syscalls;
};

// Names the kernel of an architecture lacks are skipped by the runtime.
const std::vector<Guarded>& Denied() {
  static const std::vector<Guarded> kDenied = {
      {nullptr,
       {"add_key", "keyctl", "request_key", "kexec_file_load", "kexec_load", "nfsservctl",
        "get_kernel_syms", "query_module", "sysfs", "_sysctl", "uselib", "ustat", "vm86", "vm86old",
        "userfaultfd"}},
      {"CAP_SYS_ADMIN",
       {"mount",   "umount",          "umount2",       "pivot_root", "unshare",
        "setns",   "swapon",          "swapoff",       "quotactl",   "lookup_dcookie",
        "bpf",     "perf_event_open", "fanotify_init", "fsopen",     "fsconfig",
        "fsmount", "fspick",          "move_mount",    "open_tree",  "mount_setattr"}},
      {"CAP_SYS_MODULE", {"init_module", "finit_module", "delete_module", "create_module"}},
      {"CAP_SYS_BOOT", {"reboot"}},
      {"CAP_SYS_TIME",
       {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
        "clock_adjtime64", "adjtimex"}},
      {"CAP_SYS_PTRACE",
       {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "process_madvise"}},
      {"CAP_SYS_RAWIO", {"ioperm", "iopl"}},
      {"CAP_SYS_PACCT", {"acct"}},
      {"CAP_SYS_NICE", {"get_mempolicy", "set_mempolicy", "mbind", "move_pages"}},
      {"CAP_DAC_READ_SEARCH", {"open_by_handle_at", "name_to_handle_at"}},
      {"CAP_SYSLOG", {"syslog"}},
      {"CAP_SYS_CHROOT", {"chroot"}},
  };
  return kDenied;
}

google::protobuf::Value Str(const char* s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

}  // namespace

google::protobuf::Struct DefaultSeccomp(const std::vector<std::string>& caps) {
  google::protobuf::ListValue names;
  for (const Guarded& g : Denied()) {
    if (g.capability != nullptr &&
        std::find(caps.begin(), caps.end(), g.capability) != caps.end()) {
      continue;
    }
    for (const char* s : g.syscalls) *names.add_values() = Str(s);
  }
  google::protobuf::Struct seccomp;
  auto& f = *seccomp.mutable_fields();
  f["defaultAction"] = Str("SCMP_ACT_ALLOW");
  google::protobuf::ListValue arches;
  for (const char* a : {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                        "SCMP_ARCH_ARM"}) {
    *arches.add_values() = Str(a);
  }
  *f["architectures"].mutable_list_value() = arches;
  google::protobuf::Struct rule;
  *(*rule.mutable_fields())["names"].mutable_list_value() = names;
  (*rule.mutable_fields())["action"] = Str("SCMP_ACT_ERRNO");
  (*rule.mutable_fields())["errnoRet"].set_number_value(1);  // EPERM
  google::protobuf::ListValue rules;
  *rules.add_values()->mutable_struct_value() = rule;
  *f["syscalls"].mutable_list_value() = rules;
  return seccomp;
}

}  // namespace berth::supervisor
