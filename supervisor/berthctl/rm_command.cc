// rm [-f] CONTAINER...: the container, and its task if it has stopped (or,
// with -f, whatever it is doing).
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"

namespace berth::ctl {
namespace {

// Without -f: a task that is not running is deleted first (berthd refuses
// to delete a container that still has one); a running one is refused.
absl::Status DeleteIdleTask(Client& client, const v1::Container& c) {
  auto task = client.GetTask(c.id());
  if (absl::IsNotFound(task.status())) return absl::OkStatus();
  if (!task.ok()) return task.status();
  v1::TaskStatus status = task->init().status();
  if (status == v1::RUNNING || status == v1::PAUSED || status == v1::UNKNOWN) {
    return absl::FailedPreconditionError(absl::StrCat("cannot remove a ",
                                                      status == v1::PAUSED ? "paused" : "running",
                                                      " container: stop it first, or use rm -f"));
  }
  v1::DeleteTaskRequest req;
  req.set_container_id(c.id());
  req.set_force(status == v1::CREATED);  // created, never started: nothing to lose
  return client.Call(&v1::Tasks::Stub::Delete, req).status();
}

}  // namespace

int RmCommand(const GlobalOptions& g, const Args& args) {
  bool force = false;
  FlagSet flags("rm", "rm [OPTIONS] CONTAINER [CONTAINER...]");
  flags.Bool({"f", "force"}, &force, "Force the removal of a running container (uses SIGKILL)");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  Client client(g);
  return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string& ref) {
    if (!force) BERTH_RETURN_IF_ERROR(DeleteIdleTask(client, c));
    v1::DeleteContainerRequest req;
    req.set_id(c.id());
    req.set_force(force);
    BERTH_RETURN_IF_ERROR(client.Call(&v1::Containers::Stub::Delete, req).status());
    Print(absl::StrCat(ref, "\n"));
    return absl::OkStatus();
  });
}

}  // namespace berth::ctl
