// Statistics from a cgroup2 directory, into runc's Stats layout.
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/file_util.h"
#include "runtime/cgroups/stat_files.h"
#include "runtime/cgroups/stats_read.h"

namespace berth::cgroups {
namespace {

constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

std::string Read(const std::string& dir, absl::string_view file) {
  auto text = ReadFile(absl::StrCat(dir, "/", file));
  return text.ok() ? *text : "";
}

uint64_t ReadLimit(const std::string& dir, absl::string_view file, uint64_t max_value) {
  return ParseLimit(Read(dir, file), max_value).value_or(0);
}

void ReadCpu(const std::string& dir, CpuStats* c) {
  auto stat = ParseFlatKeyed(Read(dir, "cpu.stat"));
  c->usage.total = stat["usage_usec"] * 1000;
  c->usage.user = stat["user_usec"] * 1000;
  c->usage.kernel = stat["system_usec"] * 1000;
  c->throttling.periods = stat["nr_periods"];
  c->throttling.throttled_periods = stat["nr_throttled"];
  c->throttling.throttled_time = stat["throttled_usec"] * 1000;
}

void ReadMemory(const std::string& dir, MemoryStats* m) {
  m->raw = ParseFlatKeyed(Read(dir, "memory.stat"));
  if (auto it = m->raw.find("file"); it != m->raw.end()) m->cache = it->second;
  m->usage.usage = ReadLimit(dir, "memory.current", 0);
  m->usage.limit = ReadLimit(dir, "memory.max", kUnlimited);
  m->usage.max = ReadLimit(dir, "memory.peak", 0);
  m->usage.failcnt = ParseFlatKeyed(Read(dir, "memory.events"))["max"];
  m->swap.usage = ReadLimit(dir, "memory.swap.current", 0);
  m->swap.limit = ReadLimit(dir, "memory.swap.max", kUnlimited);
  m->swap.max = ReadLimit(dir, "memory.swap.peak", 0);
  m->swap.failcnt = ParseFlatKeyed(Read(dir, "memory.swap.events"))["max"];
  // v1 reports "swap" as memory+swap (memsw); runc keeps that meaning on v2,
  // and so do callers reading events --stats.
  m->swap.usage += m->usage.usage;
  if (m->swap.limit != kUnlimited && m->usage.limit != kUnlimited) m->swap.limit += m->usage.limit;
}

void ReadPids(const std::string& dir, PidsStats* p) {
  std::string current = Read(dir, "pids.current");
  if (current.empty()) {
    // No pids controller here: count the processes instead.
    p->current = ParseNumberList(Read(dir, "cgroup.procs")).size();
  } else {
    p->current = ParseLimit(current, 0).value_or(0);
  }
  p->limit = ReadLimit(dir, "pids.max", 0);
}

void ReadHugetlb(const std::string& dir, std::map<std::string, HugetlbStats>* out) {
  for (const std::string& size : HugePageSizes()) {
    std::string current = Read(dir, absl::StrCat("hugetlb.", size, ".current"));
    if (current.empty()) continue;  // controller not enabled here
    HugetlbStats h;
    h.usage = ParseLimit(current, 0).value_or(0);
    h.failcnt = ParseFlatKeyed(Read(dir, absl::StrCat("hugetlb.", size, ".events")))["max"];
    (*out)[size] = h;
  }
}

}  // namespace

Stats ReadStatsV2(const std::string& dir) {
  Stats s;
  ReadCpu(dir, &s.cpu);
  s.cpuset.cpus = ParseRangeList(Read(dir, "cpuset.cpus.effective"));
  s.cpuset.mems = ParseRangeList(Read(dir, "cpuset.mems.effective"));
  ReadMemory(dir, &s.memory);
  ReadPids(dir, &s.pids);
  s.blkio = ParseIoStat(Read(dir, "io.stat"));
  ReadHugetlb(dir, &s.hugetlb);
  return s;
}

}  // namespace berth::cgroups
