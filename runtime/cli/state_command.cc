#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/state/state_dir.h"

namespace berth::cli {

int StateCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("state");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("state: requires exactly one argument: the container ID");
  auto dir = state::StateDir::OpenUnlocked(g.root, (*rest)[0]);
  if (!dir.ok()) return Fail(dir.status());
  auto s = dir->ReadState();
  if (!s.ok()) {
    if (!absl::IsNotFound(s.status())) return Fail(s.status());
    // Still being created (or its create died): report it as creating.
    state::ContainerState creating;
    creating.id = dir->id();
    Print(state::RenderOciState(creating, state::Status::kCreating, "  "));
    return 0;
  }
  s->owner = dir->Owner();
  Print(state::RenderOciState(*s, state::ComputeStatus(*dir, *s), "  "));
  return 0;
}

}  // namespace berth::cli
