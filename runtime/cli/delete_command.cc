#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/lifecycle.h"

namespace berth::cli {

int DeleteCommand(const GlobalOptions& g, const Args& args) {
  bool force = false;
  FlagSet flags("delete");
  flags.Bool({"force", "f"}, &force);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("delete: requires exactly one argument: the container ID");
  auto dir = state::StateDir::Open(g.root, (*rest)[0]);
  if (!dir.ok()) {
    // runc: deleting a container that does not exist with --force succeeds.
    if (force && absl::IsNotFound(dir.status())) return 0;
    return Fail(dir.status());
  }
  if (absl::Status st = container::Delete(*dir, force); !st.ok()) return Fail(st);
  return 0;
}

}  // namespace berth::cli
