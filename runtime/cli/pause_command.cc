#include "runtime/cli/commands.h"
#include "runtime/cli/container_cgroup.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"

namespace berth::cli {

// Freezes every process of a running (or created) container.
int PauseCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("pause");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("pause: requires exactly one argument: the container ID");
  auto c = OpenContainerCgroup(g, (*rest)[0], /*lock=*/true);
  if (!c.ok()) return Fail(c.status());
  // As runc: only a running or created container can be paused; a paused
  // one is "not running" too.
  if (c->status != state::Status::kRunning && c->status != state::Status::kCreated) {
    return Fail(NotRunningError());
  }
  if (absl::Status st = c->cgroup->Freeze(); !st.ok()) return Fail(st);
  return 0;
}

}  // namespace berth::cli
