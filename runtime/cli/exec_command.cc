#include <signal.h>

#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/exec.h"
#include "runtime/container/foreground.h"

namespace berth::cli {
namespace {

// runc: a failure of exec itself exits 255, so callers can tell it from
// the process's own exit status.
constexpr int kExecFailed = 255;

int ExecFail(const absl::Status& status) {
  Fail(status);
  return kExecFailed;
}

}  // namespace

int ExecCommand(const GlobalOptions& g, const Args& args) {
  container::ExecOptions o;
  o.root = g.root;
  container::ExecFlags& f = o.flags;
  FlagSet flags("exec");
  flags.String({"process", "p"}, &o.process_file);
  flags.Bool({"tty", "t"}, &f.tty);
  flags.String({"console-socket"}, &o.console_socket);
  flags.Bool({"detach", "d"}, &o.detach);
  flags.String({"pid-file"}, &o.pid_file);
  flags.String({"cwd"}, &f.cwd);
  flags.StringList({"env", "e"}, &f.env);
  flags.String({"user", "u"}, &f.user);
  flags.StringList({"additional-gids", "g"}, &f.additional_gids);
  flags.StringList({"cap", "c"}, &f.caps);
  flags.Bool({"no-new-privs"}, &f.no_new_privs);
  flags.Int({"preserve-fds"}, &o.preserve_fds);
  flags.String({"process-label"}, &f.process_label);
  flags.String({"apparmor"}, &f.apparmor);
  flags.Bool({"ignore-paused"}, &o.ignore_paused);
  // Everything after the container ID belongs to the command.
  auto rest = flags.Parse(args, /*interspersed=*/true, /*max_interspersed_positionals=*/1);
  if (!rest.ok()) return ExecFail(rest.status());
  if (rest->empty()) return ExecFail(absl::InvalidArgumentError("exec: requires the container ID"));
  o.id = (*rest)[0];
  f.args.assign(rest->begin() + 1, rest->end());

  sigset_t forwarded = container::ForwardedSignals();
  if (!o.detach) ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  auto started = container::StartExec(o);
  if (!started.ok()) return ExecFail(started.status());
  if (o.detach) return 0;
  auto status =
      container::WaitForeground(started->pid, started->pidfd.get(), started->console.get());
  if (!status.ok()) return ExecFail(status.status());
  return *status;
}

}  // namespace berth::cli
