// How berthctl prints things, as docker's CLI does (go-units' HumanDuration
// and BytesSize, `docker ps` columns, tabwriter tables). No gRPC here, so
// the unit tests link it alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::ctl {

// "Less than a second", "1 second", "5 seconds", "About a minute",
// "3 minutes", "About an hour", "5 hours", "3 days", "2 weeks", ...
std::string HumanDuration(absl::Duration d);

// What `docker ps` shows in STATUS. `status` is the Container.status string
// berthd fills in ("created", "running", "paused", "stopped", "unknown").
// A time not known is absl::InfinitePast().
struct TaskTimes {
  absl::Time started = absl::InfinitePast();
  absl::Time exited = absl::InfinitePast();
  uint32_t exit_status = 0;
};
std::string StatusText(absl::string_view status, const TaskTimes& t, absl::Time now);

// 1.5 MiB as "1.5MiB": four significant digits, binary units.
std::string BytesSize(double bytes);

// CPU use between two samples in percent of one CPU (200% is two CPUs busy),
// as `docker stats` shows it.
double CpuPercent(uint64_t prev_cpu_ns, uint64_t cur_cpu_ns, absl::Duration wall);

// Go's strconv.Quote for what we print: "..." with \", \\ and control
// characters escaped.
std::string Quote(absl::string_view s);
// At most `max` characters (UTF-8 code points), the last one "…" if cut.
std::string Ellipsis(absl::string_view s, size_t max);
// The args joined by spaces, those holding a space in single quotes.
std::string JoinCommand(const std::vector<std::string>& args);
// The COMMAND column: JoinCommand cut to 20 characters unless `no_trunc`,
// quoted.
std::string CommandColumn(const std::vector<std::string>& args, bool no_trunc);

// The first 12 characters of an id, as docker shows ids.
std::string ShortId(absl::string_view id);

// Rows as docker's tabwriter lays them out: every column but the last padded
// to its widest cell plus three spaces (at least ten wide). Ends with "\n".
std::string RenderTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace berth::ctl
