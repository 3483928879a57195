// ps [-a] [-q] [--filter K=V] [--format json] [--no-trunc]: docker's
// columns, from Containers.List joined with Tasks.List.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/json_writer.h"
#include "lib/time_format.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/format.h"
#include "supervisor/berthctl/options.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

TaskTimes TimesOf(const v1::Task* task) {
  TaskTimes t;
  if (task == nullptr) return t;
  t.started = ToTime(task->started_at());
  t.exited = ToTime(task->init().exited_at());
  t.exit_status = task->init().exit_status();
  return t;
}

std::string JsonLine(const v1::Container& c, const std::string& command, const std::string& status,
                     absl::Time now) {
  std::vector<std::string> labels;
  for (const auto& [k, v] : c.labels()) labels.push_back(absl::StrCat(k, "=", v));
  std::sort(labels.begin(), labels.end());
  JsonWriter w;
  w.BeginObject();
  w.Key("ID").String(c.id());
  w.Key("Names").String(c.name());
  w.Key("Command").String(command);
  w.Key("CreatedAt").String(FormatRfc3339Nano(ToTime(c.created_at())));
  w.Key("RunningFor").String(absl::StrCat(HumanDuration(now - ToTime(c.created_at())), " ago"));
  w.Key("State").String(c.status());
  w.Key("Status").String(status);
  w.Key("Labels").String(absl::StrJoin(labels, ","));
  w.Key("Runtime").String(c.runtime());
  w.EndObject();
  return w.Take();
}

}  // namespace

int PsCommand(const GlobalOptions& g, const Args& args) {
  bool all = false, quiet = false, no_trunc = false;
  std::vector<std::string> filter_flags;
  std::string format;
  FlagSet flags("ps", "ps [OPTIONS]");
  flags.Bool({"a", "all"}, &all, "Show all containers (default shows just running)");
  flags.Bool({"q", "quiet"}, &quiet, "Only display container IDs");
  flags.StringList({"f", "filter"}, &filter_flags,
                   "Filter output: id=, name=, label=KEY[=VALUE], status=");
  flags.String({"format"}, &format, "table (default) or json (one object per line)");
  flags.Bool({"no-trunc"}, &no_trunc, "Don't truncate output");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (!rest->empty()) return UsageError(flags, "accepts no arguments");
  if (!format.empty() && format != "table" && format != "json")
    return UsageError(flags, "--format: only \"table\" and \"json\" are supported");
  auto filters = ParseFilters(filter_flags, {"id", "name", "label", "status"});
  if (!filters.ok()) return UsageError(flags, filters.status().message());
  if (absl::Status s = ValidateStatusFilter(*filters); !s.ok())
    return UsageError(flags, s.message());
  // docker: a status filter shows what it names, with or without -a.
  if (filters->count("status") != 0) all = true;

  Client client(g);
  auto containers = client.Call(&v1::Containers::Stub::List, v1::ListContainersRequest());
  if (!containers.ok()) return Fail(containers.status());
  auto tasks = client.Call(&v1::Tasks::Stub::List, v1::ListTasksRequest());
  if (!tasks.ok()) return Fail(tasks.status());
  std::map<std::string, const v1::Task*> task_of;
  for (const v1::Task& t : tasks->tasks()) task_of[t.init().container_id()] = &t;

  std::vector<const v1::Container*> shown;
  for (const v1::Container& c : containers->containers()) {
    if (!all && c.status() != "running" && c.status() != "paused") continue;
    ContainerFacts facts{c.id(), c.name(), {c.labels().begin(), c.labels().end()}, c.status()};
    if (MatchesFilters(*filters, facts)) shown.push_back(&c);
  }
  std::sort(shown.begin(), shown.end(), [](const v1::Container* a, const v1::Container* b) {
    return ToTime(a->created_at()) > ToTime(b->created_at());
  });

  absl::Time now = absl::Now();
  std::vector<std::vector<std::string>> rows;
  if (!quiet && format != "json")
    rows.push_back({"CONTAINER ID", "COMMAND", "CREATED", "STATUS", "NAMES"});
  std::string out;
  for (const v1::Container* c : shown) {
    std::string id = no_trunc ? c->id() : ShortId(c->id());
    if (quiet) {
      absl::StrAppend(&out, id, "\n");
      continue;
    }
    auto spec = SummarizeSpec(c->spec_json(), "spec");
    std::vector<std::string> argv = spec.ok() ? spec->args : std::vector<std::string>();
    auto task = task_of.find(c->id());
    std::string status =
        StatusText(c->status(), TimesOf(task == task_of.end() ? nullptr : task->second), now);
    if (format == "json") {
      absl::StrAppend(&out, JsonLine(*c, JoinCommand(argv), status, now), "\n");
      continue;
    }
    rows.push_back({id, CommandColumn(argv, no_trunc),
                    absl::StrCat(HumanDuration(now - ToTime(c->created_at())), " ago"), status,
                    c->name()});
  }
  if (!rows.empty()) out += RenderTable(rows);
  Print(out);
  return 0;
}

}  // namespace berth::ctl
