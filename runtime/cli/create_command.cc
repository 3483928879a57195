#include "absl/strings/str_cat.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/create_flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/create.h"

namespace berth::cli {

int CreateCommand(const GlobalOptions& g, const Args& args) {
  container::CreateOptions o;
  o.root = g.root;
  o.systemd_cgroup = g.systemd_cgroup;
  FlagSet flags("create");
  AddCreateFlags(flags, o);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("create: requires exactly one argument: the container ID");
  o.id = (*rest)[0];
  auto created = container::Create(o);
  if (!created.ok()) return Fail(created.status());
  return 0;
}

}  // namespace berth::cli
