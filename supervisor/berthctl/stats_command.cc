// stats [--no-stream] [-a] [CONTAINER...]: CPU, memory and pids of running
// containers, from Tasks.Metrics; CPU % is the CPU time used between two
// samples a second apart over the time between them.
#include <unistd.h>

#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/format.h"

namespace berth::ctl {
namespace {

struct Sample {
  v1::MetricsResponse metrics;
  absl::Time at;
};

// /proc/meminfo's MemTotal: docker's limit for a container without one.
uint64_t HostMemory() {
  auto text = ReadFile("/proc/meminfo");
  if (!text.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemTotal:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    uint64_t kb;
    if (absl::SimpleAtoi(line, &kb)) return kb * 1024;
  }
  return 0;
}

absl::StatusOr<Sample> Measure(Client& client, const std::string& id) {
  v1::MetricsRequest req;
  req.set_container_id(id);
  auto resp = client.Call(&v1::Tasks::Stub::Metrics, req);
  if (!resp.ok()) return resp.status();
  Sample s{std::move(*resp), absl::Now()};
  if (IsSet(s.metrics.timestamp())) s.at = ToTime(s.metrics.timestamp());
  return s;
}

std::vector<std::string> Row(const v1::Container& c, const Sample* prev, const Sample* cur,
                             uint64_t host_memory, bool no_trunc) {
  std::string id = no_trunc ? c.id() : ShortId(c.id());
  if (cur == nullptr) return {id, c.name(), "--", "-- / --", "--", "--"};
  const v1::MetricsResponse& m = cur->metrics;
  double cpu = prev == nullptr
                   ? 0
                   : CpuPercent(prev->metrics.cpu_usage_ns(), m.cpu_usage_ns(), cur->at - prev->at);
  uint64_t limit = m.memory_limit_bytes();
  if (host_memory != 0 && (limit == 0 || limit > host_memory)) limit = host_memory;
  double mem_percent =
      limit == 0 ? 0
                 : static_cast<double>(m.memory_usage_bytes()) / static_cast<double>(limit) * 100;
  return {id,
          c.name(),
          absl::StrFormat("%.2f%%", cpu),
          absl::StrCat(BytesSize(static_cast<double>(m.memory_usage_bytes())), " / ",
                       BytesSize(static_cast<double>(limit))),
          absl::StrFormat("%.2f%%", mem_percent),
          absl::StrCat(m.pids_current())};
}

}  // namespace

int StatsCommand(const GlobalOptions& g, const Args& args) {
  bool no_stream = false, all = false, no_trunc = false;
  FlagSet flags("stats", "stats [OPTIONS] [CONTAINER...]");
  flags.Bool({"no-stream"}, &no_stream, "Disable streaming stats and only pull the first result");
  flags.Bool({"a", "all"}, &all, "Show all containers (default shows just running)");
  flags.Bool({"no-trunc"}, &no_trunc, "Do not truncate output");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  Client client(g);

  std::vector<v1::Container> named;
  for (const std::string& ref : *refs) {
    auto c = client.Resolve(ref);
    if (!c.ok()) return Fail(Annotate(c.status(), ref));
    named.push_back(std::move(*c));
  }
  // Without names, the set is listed again at every redraw: new ones appear.
  auto targets = [&]() -> absl::StatusOr<std::vector<v1::Container>> {
    if (!refs->empty()) return named;
    auto list = client.Call(&v1::Containers::Stub::List, v1::ListContainersRequest());
    if (!list.ok()) return list.status();
    std::vector<v1::Container> out;
    for (const v1::Container& c : list->containers()) {
      if (all || c.status() == "running" || c.status() == "paused") out.push_back(c);
    }
    return out;
  };
  auto measure_all = [&](const std::vector<v1::Container>& cs) {
    std::map<std::string, Sample> samples;
    for (const v1::Container& c : cs) {
      if (auto s = Measure(client, c.id()); s.ok()) samples.emplace(c.id(), std::move(*s));
    }
    return samples;
  };

  uint64_t host_memory = HostMemory();
  bool redraw = !no_stream && ::isatty(STDOUT_FILENO);
  auto containers = targets();
  if (!containers.ok()) return Fail(containers.status());
  std::map<std::string, Sample> prev = measure_all(*containers);
  while (true) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    containers = targets();
    if (!containers.ok()) return Fail(containers.status());
    std::map<std::string, Sample> cur = measure_all(*containers);
    std::vector<std::vector<std::string>> rows = {
        {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"}};
    for (const v1::Container& c : *containers) {
      auto p = prev.find(c.id());
      auto s = cur.find(c.id());
      rows.push_back(Row(c, p == prev.end() ? nullptr : &p->second,
                         s == cur.end() ? nullptr : &s->second, host_memory, no_trunc));
    }
    Print(absl::StrCat(redraw ? "\033[2J\033[H" : "", RenderTable(rows)));
    if (no_stream) return 0;
    prev = std::move(cur);
  }
}

}  // namespace berth::ctl
