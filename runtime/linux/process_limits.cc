#include "runtime/linux/process_limits.h"

#include <sys/resource.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/linux/procfs.h"

namespace berth::linux_ns {

int RlimitResource(const std::string& name) {
  static const std::pair<const char*, int> kTable[] = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (const auto& [n, r] : kTable) {
    if (name == n) return r;
  }
  return -1;
}

absl::Status ApplyRlimits(const std::vector<spec::Rlimit>& rlimits) {
  for (const spec::Rlimit& l : rlimits) {
    int resource = RlimitResource(l.type);
    if (resource < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("process.rlimits: unknown limit \"", l.type, "\""));
    }
    struct rlimit want = {l.soft, l.hard};
    if (::setrlimit(resource, &want) == 0) continue;
    int err = errno;
    struct rlimit have = {};
    ::getrlimit(resource, &have);
    if (err == EPERM && l.hard > have.rlim_max) {
      return absl::PermissionDeniedError(
          absl::StrCat("process.rlimits: ", l.type, ": raising the hard limit from ", have.rlim_max,
                       " to ", l.hard, " needs CAP_SYS_RESOURCE, which the runtime does not hold"));
    }
    if (err == EINVAL && l.soft > l.hard) {
      return absl::InvalidArgumentError(absl::StrCat("process.rlimits: ", l.type, ": soft limit ",
                                                     l.soft, " is above hard limit ", l.hard));
    }
    return ErrnoError(err, absl::StrCat("process.rlimits: set ", l.type));
  }
  return absl::OkStatus();
}

absl::Status SetOomScoreAdj(int value) {
  return Annotate(WriteProcFile("/proc/self/oom_score_adj", absl::StrCat(value)),
                  "process.oomScoreAdj");
}

}  // namespace berth::linux_ns
