#include <signal.h>

#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/lifecycle.h"
#include "runtime/container/signals.h"

namespace berth::cli {

int KillCommand(const GlobalOptions& g, const Args& args) {
  bool all = false;
  FlagSet flags("kill");
  flags.Bool({"all", "a"}, &all);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->empty() || rest->size() > 2) return Usage("kill: usage: kill [--all] ID [SIGNAL]");
  int signal = SIGTERM;
  if (rest->size() == 2) {
    auto parsed = container::ParseSignal((*rest)[1]);
    if (!parsed.ok()) return Fail(parsed.status());
    signal = *parsed;
  }
  auto dir = state::StateDir::OpenUnlocked(g.root, (*rest)[0]);
  if (!dir.ok()) return Fail(dir.status());
  auto s = dir->ReadState();
  if (!s.ok())
    return Fail(absl::IsNotFound(s.status())
                    ? absl::FailedPreconditionError("container not running")
                    : s.status());
  if (absl::Status st = container::Kill(*s, signal, all); !st.ok()) return Fail(st);
  return 0;
}

}  // namespace berth::cli
