#include "runtime/cli/commands.h"
#include "runtime/cli/container_cgroup.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"

namespace berth::cli {

// Thaws a paused container.
int ResumeCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("resume");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("resume: requires exactly one argument: the container ID");
  auto c = OpenContainerCgroup(g, (*rest)[0], /*lock=*/true);
  if (!c.ok()) return Fail(c.status());
  if (c->status == state::Status::kStopped) return Fail(NotRunningError());
  if (c->status != state::Status::kPaused) {
    return Fail(absl::FailedPreconditionError("container not paused"));
  }
  if (absl::Status st = c->cgroup->Thaw(); !st.ok()) return Fail(st);
  return 0;
}

}  // namespace berth::cli
