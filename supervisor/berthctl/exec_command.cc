// exec [-i] [-t] [-d] [-u] [-e] [-w] CONTAINER CMD...: another process in a
// running container, attached unless -d; berthctl exits with its status.
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/container_flags.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {

int ExecCommand(const GlobalOptions& g, const Args& args) {
  bool interactive = false, tty = false, detach = false;
  std::string user, workdir;
  std::vector<std::string> env, env_files;
  FlagSet flags("exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]");
  flags.Bool({"i", "interactive"}, &interactive, "Keep STDIN open");
  flags.Bool({"t", "tty"}, &tty, "Allocate a pseudo-TTY");
  flags.Bool({"d", "detach"}, &detach, "Detached mode: run command in the background");
  flags.String({"u", "user"}, &user, "UID[:GID] to run as (numeric)");
  flags.StringList({"e", "env"}, &env, "Set environment variables");
  flags.StringList({"env-file"}, &env_files, "Read in a file of environment variables");
  flags.String({"w", "workdir"}, &workdir, "Working directory inside the container");
  auto rest = flags.Parse(args, /*interspersed=*/false);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (rest->size() < 2) return UsageError(flags, "requires a container and a command");
  if (!user.empty()) {
    if (auto u = ParseUser(user); !u.ok()) return UsageError(flags, u.status().message());
  }
  auto environment = CollectEnv(env_files, env);
  if (!environment.ok()) return Fail(environment.status());

  if (!detach) BlockAttachSignals();
  Client client(g);
  const std::string& ref = (*rest)[0];
  auto c = client.Resolve(ref);
  if (!c.ok()) return Fail(Annotate(c.status(), ref));
  v1::ExecProcessRequest req;
  req.set_container_id(c->id());
  for (size_t i = 1; i < rest->size(); ++i) req.add_args((*rest)[i]);
  for (const std::string& e : *environment) req.add_env(e);
  req.set_cwd(workdir);
  req.set_user(user);
  req.mutable_stdio()->set_attach(!detach);
  req.mutable_stdio()->set_stdin(interactive && !detach);
  req.mutable_stdio()->set_terminal(tty);
  auto exec = client.Call(&v1::Tasks::Stub::Exec, req);
  if (!exec.ok()) return Fail(Annotate(exec.status(), ref));
  const std::string& exec_id = exec->exec_id();
  if (detach) {
    absl::Status s = StartProcess(client, c->id(), exec_id);
    if (!s.ok()) {
      Fail(s);
      return StartFailureExitCode(s);
    }
    return 0;
  }
  AttachOptions options;
  options.container_id = c->id();
  options.exec_id = exec_id;
  options.stdin = interactive;
  options.tty = tty;
  int rc = RunAttached(client, options);
  // The exec's record is of no more use; berthd may have dropped it already.
  v1::DeleteProcessRequest del;
  del.set_container_id(c->id());
  del.set_exec_id(exec_id);
  (void)client.Call(&v1::Tasks::Stub::DeleteProcess, del);
  return rc;
}

}  // namespace berth::ctl
