#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "containerd_shim.pb.h"
#include "lib/file_util.h"
#include "lib/pb_timestamp.h"
#include "lib/proc.h"
#include "lib/shim_api.h"
#include "shim/commands.h"
#include "shim/rootfs.h"
#include "shim/runtime_client.h"
#include "shim/shim_options.h"

namespace berth::shim {

int DeleteCommand(const ShimFlags& flags) {
  std::string bundle = BundleDir(flags);
  ShimOptions options = LoadOptions(bundle);
  RuntimeClient runtime(RuntimeBinary(options), RuntimeRoot(options, flags.ns),
                        bundle + "/log.json", options.systemd_cgroup());
  if (absl::Status st = runtime.Delete(flags.id, true); !st.ok()) {
    std::fprintf(stderr, "berth-shim: delete %s: %s\n", flags.id.c_str(),
                 std::string(st.message()).c_str());
  }
  UnmountAll(absl::StrCat(bundle, "/", shim_api::kRootfsDir));
  absl::StatusOr<pid_t> pid = proc::ReadPidFile(absl::StrCat(bundle, "/", shim_api::kInitPidFile));
  containerd::task::v2::DeleteResponse resp;
  resp.set_pid(pid.ok() ? static_cast<uint32_t>(*pid) : 0);
  resp.set_exit_status(128 + 9);  // what containerd reports for a container whose shim died
  ToTimestamp(absl::Now(), resp.mutable_exited_at());
  std::string out = resp.SerializeAsString();
  return WriteAll(STDOUT_FILENO, out).ok() ? 0 : 1;
}

}  // namespace berth::shim
