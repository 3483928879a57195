// stop [-t SECONDS] [-s SIGNAL] CONTAINER...: SIGTERM, up to SECONDS for
// the container to exit, then SIGKILL to every process of it.
#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/options.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

absl::Status Kill(Client& client, const std::string& id, int sig, bool all) {
  v1::KillTaskRequest req;
  req.set_container_id(id);
  req.set_signal(static_cast<uint32_t>(sig));
  req.set_all(all);
  return client.Call(&v1::Tasks::Stub::Kill, req).status();
}

// Waits for the init to exit; DeadlineExceeded after `timeout` (infinite:
// no deadline).
absl::Status Wait(Client& client, const std::string& id, absl::Duration timeout) {
  grpc::ClientContext ctx;
  client.Prepare(ctx, /*deadline=*/false);
  if (timeout != absl::InfiniteDuration())
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::WaitTaskRequest req;
  req.set_container_id(id);
  v1::WaitTaskResponse resp;
  grpc::Status status = client.tasks().Wait(&ctx, req, &resp);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    return absl::DeadlineExceededError("still running");
  return client.Check(status);
}

absl::Status Stop(Client& client, const std::string& id, int sig, absl::Duration timeout) {
  auto task = client.GetTask(id);
  if (absl::IsNotFound(task.status())) return absl::OkStatus();  // nothing runs
  if (!task.ok()) return task.status();
  if (task->init().status() == v1::STOPPED) return absl::OkStatus();
  // A process that exits between Get and Kill makes Kill fail; Wait says.
  absl::Status killed = Kill(client, id, sig, /*all=*/false);
  absl::Status waited = Wait(client, id, timeout);
  if (waited.ok()) return absl::OkStatus();
  if (!absl::IsDeadlineExceeded(waited)) return killed.ok() ? waited : killed;
  BERTH_RETURN_IF_ERROR(Annotate(Kill(client, id, SIGKILL, /*all=*/true), "SIGKILL"));
  return Wait(client, id, absl::InfiniteDuration());
}

}  // namespace

int StopCommand(const GlobalOptions& g, const Args& args) {
  int64_t seconds = 10;
  std::string signal_name;
  FlagSet flags("stop", "stop [OPTIONS] CONTAINER [CONTAINER...]");
  flags.Int({"t", "time", "timeout"}, &seconds, "Seconds to wait before killing it (default 10)");
  flags.String({"s", "signal"}, &signal_name,
               "Signal to send first (default: the image's StopSignal, else TERM)");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  auto sig = ParseSignalName(signal_name.empty() ? "TERM" : signal_name);
  if (!sig.ok()) return UsageError(flags, sig.status().message());
  absl::Duration timeout = seconds < 0 ? absl::InfiniteDuration() : absl::Seconds(seconds);
  Client client(g);
  return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string& ref) {
    int first = *sig;
    if (signal_name.empty()) {
      // The StopSignal of the image the container was made from, as docker.
      auto summary = SummarizeSpec(c.spec_json(), "spec");
      if (summary.ok() && !summary->stop_signal.empty()) {
        auto own = ParseSignalName(summary->stop_signal);
        if (own.ok()) first = *own;
      }
    }
    BERTH_RETURN_IF_ERROR(Stop(client, c.id(), first, timeout));
    Print(absl::StrCat(ref, "\n"));
    return absl::OkStatus();
  });
}

}  // namespace berth::ctl
