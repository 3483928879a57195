#include <signal.h>

#include "runtime/cli/commands.h"
#include "runtime/cli/create_flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/foreground.h"
#include "runtime/container/lifecycle.h"

namespace berth::cli {

int RunCommand(const GlobalOptions& g, const Args& args) {
  container::CreateOptions o;
  o.root = g.root;
  o.systemd_cgroup = g.systemd_cgroup;
  bool detach = false;
  FlagSet flags("run");
  AddCreateFlags(flags, o);
  flags.Bool({"detach", "d"}, &detach);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("run: requires exactly one argument: the container ID");
  o.id = (*rest)[0];
  o.terminal_to_caller = !detach && o.console_socket.empty();

  sigset_t forwarded = container::ForwardedSignals(), previous;
  if (!detach) ::sigprocmask(SIG_BLOCK, &forwarded, &previous);
  auto created = container::Create(o);
  if (!created.ok()) return Fail(created.status());
  if (detach) {
    created->fifo.reset();  // as a writer, it would keep Start waiting for the exec
    absl::Status st = container::Start(created->dir, created->state);
    if (!st.ok()) return Fail(st);
    container::RunPoststartHooks(created->dir, created->state);
    return 0;
  }
  auto status = container::StartAndWait(*created);
  absl::Status cleanup = container::Delete(created->dir, /*force=*/true);
  if (!status.ok()) return Fail(status.status());
  if (!cleanup.ok()) log::Warn(cleanup.message());
  return *status;
}

}  // namespace berth::cli
