#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "containerd_shim.pb.h"
#include "lib/file_util.h"
#include "shim/commands.h"
#include "shim/rootfs.h"
#include "shim/runtime_client.h"
#include "shim/shim_options.h"

namespace berth::shim {

int DeleteCommand(const ShimFlags& flags) {
  std::string bundle = BundleDir(flags);
  ShimOptions options = LoadOptions(bundle);
  RuntimeClient runtime(RuntimeBinary(options), RuntimeRoot(options, flags.ns), bundle + "/log.json",
                        options.systemd_cgroup());
  if (absl::Status st = runtime.Delete(flags.id, true); !st.ok()) {
    std::fprintf(stderr, "berth-shim: delete %s: %s\n", flags.id.c_str(),
                 std::string(st.message()).c_str());
  }
  UnmountAll(bundle + "/rootfs");
  int pid = 0;
  if (absl::StatusOr<std::string> text = ReadFile(bundle + "/init.pid"); text.ok()) {
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid)) pid = 0;
  }
  containerd::task::v2::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(pid));
  resp.set_exit_status(128 + 9);  // what containerd reports for a container whose shim died
  resp.mutable_exited_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  std::string out = resp.SerializeAsString();
  return WriteAll(STDOUT_FILENO, out).ok() ? 0 : 1;
}

}  // namespace berth::shim
