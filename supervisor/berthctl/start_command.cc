// start [-a] [-i] CONTAINER...: a new task for each container (the stopped
// one deleted first), started; with -a, attached as run is.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/options.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

enum class TaskState { kReady, kRunning };

// Makes sure the container has a task that can be started: kRunning if one
// already runs, else a fresh one with these stdio settings.
absl::StatusOr<TaskState> PrepareTask(Client& client, const v1::Container& c, bool attach,
                                      bool stdin) {
  auto task = client.GetTask(c.id());
  if (task.ok()) {
    v1::TaskStatus status = task->init().status();
    if (status == v1::RUNNING || status == v1::PAUSED) return TaskState::kRunning;
    // A stopped task, or one created with other stdio: replace it.
    v1::DeleteTaskRequest del;
    del.set_container_id(c.id());
    del.set_force(status != v1::STOPPED);
    if (auto r = client.Call(&v1::Tasks::Stub::Delete, del); !r.ok())
      return Annotate(r.status(), "deleting its previous task");
  } else if (!absl::IsNotFound(task.status())) {
    return task.status();
  }
  auto spec = SummarizeSpec(c.spec_json(), "the container's spec");
  if (!spec.ok()) return spec.status();
  v1::CreateTaskRequest req;
  req.set_container_id(c.id());
  req.mutable_stdio()->set_attach(attach);
  req.mutable_stdio()->set_stdin(stdin);
  req.mutable_stdio()->set_terminal(spec->terminal);
  if (auto r = client.Call(&v1::Tasks::Stub::Create, req); !r.ok()) return r.status();
  return TaskState::kReady;
}

}  // namespace

int StartCommand(const GlobalOptions& g, const Args& args) {
  bool attach = false;
  bool interactive = false;
  FlagSet flags("start", "start [OPTIONS] CONTAINER [CONTAINER...]");
  flags.Bool({"a", "attach"}, &attach, "Attach STDOUT/STDERR and forward signals");
  flags.Bool({"i", "interactive"}, &interactive, "Attach container's STDIN");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  attach = attach || interactive;  // docker's -i attaches too
  if (attach && refs->size() > 1)
    return UsageError(flags, "you cannot start and attach multiple containers at once");

  if (!attach) {
    Client client(g);
    return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string& ref) {
      auto state = PrepareTask(client, c, /*attach=*/false, /*stdin=*/false);
      if (!state.ok()) return state.status();
      if (*state == TaskState::kReady) BERTH_RETURN_IF_ERROR(StartProcess(client, c.id(), ""));
      Print(absl::StrCat(ref, "\n"));
      return absl::OkStatus();
    });
  }

  BlockAttachSignals();
  Client client(g);
  auto c = client.Resolve((*refs)[0]);
  if (!c.ok()) return Fail(Annotate(c.status(), (*refs)[0]));
  auto state = PrepareTask(client, *c, /*attach=*/true, interactive);
  if (!state.ok()) return Fail(Annotate(state.status(), (*refs)[0]));
  auto spec = SummarizeSpec(c->spec_json(), "the container's spec");
  AttachOptions options;
  options.container_id = c->id();
  options.stdin = interactive;
  options.tty = spec.ok() && spec->terminal;
  if (*state == TaskState::kReady) return RunAttached(client, options);
  // Already running: attach to it (its task must have been made attached).
  auto result = AttachAndStart(client, options, [] { return absl::OkStatus(); });
  if (!result.ok()) return Fail(result.status());
  return result->exit_status;
}

}  // namespace berth::ctl
