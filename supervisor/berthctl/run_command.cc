// run and create: a container from an image (pulled when missing), --rootfs
// or --bundle; run also makes its
// task and runs it, attached or detached.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/container_flags.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {

namespace {

constexpr char kRunUsage[] =
    "run [OPTIONS] (IMAGE | --rootfs DIR | --bundle DIR) [--] [CMD [ARG...]]";
constexpr char kCreateUsage[] =
    "create [OPTIONS] (IMAGE | --rootfs DIR | --bundle DIR) [--] [CMD [ARG...]]";

absl::Status DeleteContainer(Client& client, const std::string& id) {
  v1::DeleteContainerRequest req;
  req.set_id(id);
  req.set_force(true);
  return client.Call(&v1::Containers::Stub::Delete, req).status();
}

}  // namespace

int RunCommand(const GlobalOptions& g, const Args& args) {
  ContainerFlags cf;
  bool detach = false;
  bool rm = false;
  FlagSet flags("run", kRunUsage);
  cf.Register(flags);
  flags.Bool({"d", "detach"}, &detach, "Run the container in the background and print its ID");
  flags.Bool({"rm"}, &rm, "Remove the container when it exits");
  auto cmd = flags.Parse(args, /*interspersed=*/false);
  if (!cmd.ok()) return UsageError(flags, cmd.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (detach && rm) {
    return UsageError(flags,
                      "--rm cannot be used with -d: berthd does not remove exited containers "
                      "by itself (run attached, or `berthctl rm` it later)");
  }
  auto req = BuildCreateRequest(cf, *cmd);
  if (!req.ok()) return Fail(req.status());
  if (!detach) BlockAttachSignals();
  Client client(g);

  auto created = CreateFromImagePulling(client, *req, cf.pull);
  if (!created.ok()) return Fail(created.status());
  const std::string id = created->container().id();
  auto remove = [&] {
    if (!rm) return;
    if (absl::Status s = DeleteContainer(client, id); !s.ok()) Fail(Annotate(s, "--rm"));
  };

  v1::CreateTaskRequest task;
  task.set_container_id(id);
  task.mutable_stdio()->set_attach(!detach);
  task.mutable_stdio()->set_stdin(cf.interactive && !detach);
  task.mutable_stdio()->set_terminal(cf.tty);
  if (auto r = client.Call(&v1::Tasks::Stub::Create, task); !r.ok()) {
    // The runtime looks the command up at create: 127/126 as for Start.
    Fail(r.status());
    remove();
    return StartFailureExitCode(r.status());
  }
  if (detach) {
    if (absl::Status s = StartProcess(client, id, ""); !s.ok()) {
      Fail(s);
      return StartFailureExitCode(s);
    }
    Print(absl::StrCat(id, "\n"));
    return 0;
  }
  AttachOptions attach;
  attach.container_id = id;
  attach.stdin = cf.interactive;
  attach.tty = cf.tty;
  int rc = RunAttached(client, attach);
  remove();
  return rc;
}

int CreateCommand(const GlobalOptions& g, const Args& args) {
  ContainerFlags cf;
  FlagSet flags("create", kCreateUsage);
  cf.Register(flags);
  auto cmd = flags.Parse(args, /*interspersed=*/false);
  if (!cmd.ok()) return UsageError(flags, cmd.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  auto req = BuildCreateRequest(cf, *cmd);
  if (!req.ok()) return Fail(req.status());
  Client client(g);
  auto created = CreateFromImagePulling(client, *req, cf.pull);
  if (!created.ok()) return Fail(created.status());
  Print(absl::StrCat(created->container().id(), "\n"));
  return 0;
}

}  // namespace berth::ctl
