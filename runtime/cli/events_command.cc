#include <poll.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/log.h"
#include "runtime/cgroups/stats.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/container_cgroup.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/container/lifecycle.h"

namespace berth::cli {
namespace {

absl::Status PrintStats(const ContainerCgroup& c) {
  auto stats = c.cgroup->GetStats();
  if (!stats.ok()) return stats.status();
  Print(absl::StrCat(cgroups::RenderStatsEvent(c.state.id, *stats), "\n"));
  return absl::OkStatus();
}

// An oom event for each OOM kill the watcher has not reported yet; false
// once the cgroup is gone.
bool PrintOoms(const ContainerCgroup& c, cgroups::OomWatcher& oom) {
  auto count = oom.Consume();
  if (!count.ok()) return false;
  for (uint64_t i = 0; i < *count; ++i) {
    Print(absl::StrCat(cgroups::RenderOomEvent(c.state.id), "\n"));
  }
  return true;
}

// Prints a stats event every `interval` and an oom event for each OOM kill,
// until the container's init exits.
int Stream(const ContainerCgroup& c, absl::Duration interval) {
  auto init = container::OpenInitPidfd(c.state);
  if (!init.ok()) return Fail(NotRunningError());
  auto oom = c.cgroup->WatchOom();
  if (!oom.ok()) log::Debug(absl::StrCat("events: no OOM events: ", oom.status().message()));
  absl::Time next = absl::Now();
  for (;;) {
    if (absl::Now() >= next) {
      if (absl::Status st = PrintStats(c); !st.ok()) log::Warn(st.message());
      next += interval;
    }
    std::vector<pollfd> fds = {{init->get(), POLLIN, 0}};
    if (oom.ok()) fds.push_back({(*oom)->fd(), POLLIN, 0});
    int64_t wait_ms = absl::ToInt64Milliseconds(next - absl::Now()) + 1;
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait_ms, 0)));
    if (rc < 0 && errno != EINTR) return Fail(absl::ErrnoToStatus(errno, "events: poll"));
    if (fds.size() > 1 && (fds[1].revents & POLLIN) && !PrintOoms(c, **oom)) {
      return 0;  // the cgroup is gone
    }
    if (fds[0].revents & POLLIN) {
      // The init exited. When the OOM killer killed it, the kernel has
      // counted the kill by now but notifies memory.events later (from a
      // workqueue): read the count once more instead of waiting for that.
      if (oom.ok()) PrintOoms(c, **oom);
      return 0;
    }
  }
}

}  // namespace

// runc's `events`: with --stats one stats event; else a stream of stats
// every --interval (default 5s) and oom events, until the container stops.
int EventsCommand(const GlobalOptions& g, const Args& args) {
  bool stats = false;
  std::string interval_text = "5s";
  FlagSet flags("events");
  flags.Bool({"stats"}, &stats);
  flags.String({"interval"}, &interval_text);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("events: requires exactly one argument: the container ID");
  absl::Duration interval;
  if (!absl::ParseDuration(interval_text, &interval) || interval <= absl::ZeroDuration()) {
    return Usage(absl::StrCat("events: invalid --interval \"", interval_text,
                              "\": want a positive duration such as 5s or 500ms"));
  }
  auto c = OpenContainerCgroup(g, (*rest)[0], /*lock=*/false);
  if (!c.ok()) return Fail(c.status());
  if (c->status == state::Status::kStopped) return Fail(NotRunningError());
  if (stats) {
    if (absl::Status st = PrintStats(*c); !st.ok()) return Fail(st);
    return 0;
  }
  return Stream(*c, interval);
}

}  // namespace berth::cli
