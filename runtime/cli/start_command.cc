#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/lifecycle.h"

namespace berth::cli {

int StartCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("start");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("start: requires exactly one argument: the container ID");
  auto dir = state::StateDir::Open(g.root, (*rest)[0]);
  if (!dir.ok()) return Fail(dir.status());
  auto s = dir->ReadState();
  if (!s.ok()) return Fail(s.status());
  if (absl::Status st = container::Start(*dir, *s); !st.ok()) return Fail(st);
  container::RunPoststartHooks(*dir, *s);
  return 0;
}

}  // namespace berth::cli
