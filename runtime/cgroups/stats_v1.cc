// Statistics from v1 controllers, into runc's Stats layout.
#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/file_util.h"
#include "runtime/cgroups/stat_files.h"
#include "runtime/cgroups/stats_read.h"

namespace berth::cgroups {
namespace {

std::string Read(const std::string& dir, absl::string_view file) {
  auto text = ReadFile(absl::StrCat(dir, "/", file));
  return text.ok() ? *text : "";
}

uint64_t ReadNumber(const std::string& dir, absl::string_view file) {
  return ParseLimit(Read(dir, file), 0).value_or(0);
}

int64_t ReadSigned(const std::string& dir, absl::string_view file) {
  int64_t v = 0;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(Read(dir, file)), &v) ? v : 0;
}

void ReadCpuacct(const std::string& dir, CpuUsage* u) {
  u->total = ReadNumber(dir, "cpuacct.usage");
  u->percpu = ParseNumberList(Read(dir, "cpuacct.usage_percpu"));
  u->percpu_kernel = ParseNumberList(Read(dir, "cpuacct.usage_percpu_sys"));
  u->percpu_user = ParseNumberList(Read(dir, "cpuacct.usage_percpu_user"));
  // cpuacct.stat counts USER_HZ ticks.
  uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  auto stat = ParseFlatKeyed(Read(dir, "cpuacct.stat"));
  u->user = stat["user"] * ns_per_tick;
  u->kernel = stat["system"] * ns_per_tick;
}

void ReadThrottling(const std::string& dir, Throttling* t) {
  auto stat = ParseFlatKeyed(Read(dir, "cpu.stat"));
  t->periods = stat["nr_periods"];
  t->throttled_periods = stat["nr_throttled"];
  t->throttled_time = stat["throttled_time"];
}

void ReadCpuset(const std::string& dir, CpusetStats* c) {
  c->cpus = ParseRangeList(Read(dir, "cpuset.cpus"));
  c->mems = ParseRangeList(Read(dir, "cpuset.mems"));
  c->cpu_exclusive = ReadNumber(dir, "cpuset.cpu_exclusive");
  c->mem_hardwall = ReadNumber(dir, "cpuset.mem_hardwall");
  c->mem_exclusive = ReadNumber(dir, "cpuset.mem_exclusive");
  c->memory_migrate = ReadNumber(dir, "cpuset.memory_migrate");
  c->memory_spread_page = ReadNumber(dir, "cpuset.memory_spread_page");
  c->memory_spread_slab = ReadNumber(dir, "cpuset.memory_spread_slab");
  c->memory_pressure = ReadNumber(dir, "cpuset.memory_pressure");
  c->sched_load_balance = ReadNumber(dir, "cpuset.sched_load_balance");
  c->sched_relax_domain_level = ReadSigned(dir, "cpuset.sched_relax_domain_level");
}

// memory.<prefix>{limit_in_bytes,usage_in_bytes,max_usage_in_bytes,failcnt}
MemoryEntry ReadMemoryEntry(const std::string& dir, absl::string_view prefix) {
  MemoryEntry e;
  e.limit = ReadNumber(dir, absl::StrCat("memory.", prefix, "limit_in_bytes"));
  e.usage = ReadNumber(dir, absl::StrCat("memory.", prefix, "usage_in_bytes"));
  e.max = ReadNumber(dir, absl::StrCat("memory.", prefix, "max_usage_in_bytes"));
  e.failcnt = ReadNumber(dir, absl::StrCat("memory.", prefix, "failcnt"));
  return e;
}

void ReadMemory(const std::string& dir, MemoryStats* m) {
  m->raw = ParseFlatKeyed(Read(dir, "memory.stat"));
  if (auto it = m->raw.find("cache"); it != m->raw.end()) m->cache = it->second;
  m->usage = ReadMemoryEntry(dir, "");
  m->swap = ReadMemoryEntry(dir, "memsw.");
  m->kernel = ReadMemoryEntry(dir, "kmem.");
  m->kernel_tcp = ReadMemoryEntry(dir, "kmem.tcp.");
}

// CFQ's files if the scheduler keeps them, else BFQ's, else the throttling
// layer's, which counts every I/O.
std::vector<BlkioEntry> FirstBlkio(const std::string& dir, absl::string_view what) {
  for (const char* layer : {"", "bfq.", "throttle."}) {
    auto entries = ParseBlkioFile(Read(dir, absl::StrCat("blkio.", layer, what, "_recursive")));
    if (!entries.empty()) return entries;
  }
  return {};
}

void ReadHugetlb(const std::string& dir, std::map<std::string, HugetlbStats>* out) {
  for (const std::string& size : HugePageSizes()) {
    HugetlbStats h;
    h.usage = ReadNumber(dir, absl::StrCat("hugetlb.", size, ".usage_in_bytes"));
    h.max = ReadNumber(dir, absl::StrCat("hugetlb.", size, ".max_usage_in_bytes"));
    h.failcnt = ReadNumber(dir, absl::StrCat("hugetlb.", size, ".failcnt"));
    (*out)[size] = h;
  }
}

}  // namespace

std::string HugePageSizeName(const std::string& name) {
  constexpr absl::string_view kPrefix = "hugepages-";
  absl::string_view s = name;
  if (!absl::ConsumePrefix(&s, kPrefix) || !absl::ConsumeSuffix(&s, "kB")) return "";
  uint64_t kb;
  if (!absl::SimpleAtoi(s, &kb) || kb == 0) return "";
  if (kb % (1024 * 1024) == 0) return absl::StrCat(kb / (1024 * 1024), "GB");
  if (kb % 1024 == 0) return absl::StrCat(kb / 1024, "MB");
  return absl::StrCat(kb, "KB");
}

std::vector<std::string> HugePageSizes() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/kernel/mm/hugepages");
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string size = HugePageSizeName(e->d_name);
    if (!size.empty()) out.push_back(size);
  }
  ::closedir(d);
  return out;
}

Stats ReadStatsV1(const Placement& p) {
  Stats s;
  if (const CgroupDir* d = p.FindController("cpuacct")) ReadCpuacct(d->path, &s.cpu.usage);
  if (const CgroupDir* d = p.FindController("cpu")) ReadThrottling(d->path, &s.cpu.throttling);
  if (const CgroupDir* d = p.FindController("cpuset")) ReadCpuset(d->path, &s.cpuset);
  if (const CgroupDir* d = p.FindController("memory")) ReadMemory(d->path, &s.memory);
  if (const CgroupDir* d = p.FindController("pids")) {
    s.pids.current = ReadNumber(d->path, "pids.current");
    s.pids.limit = ReadNumber(d->path, "pids.max");  // "max" reads as 0: no limit
  }
  if (const CgroupDir* d = p.FindController("blkio")) {
    s.blkio.io_service_bytes_recursive = FirstBlkio(d->path, "io_service_bytes");
    s.blkio.io_serviced_recursive = FirstBlkio(d->path, "io_serviced");
  }
  if (const CgroupDir* d = p.FindController("hugetlb")) ReadHugetlb(d->path, &s.hugetlb);
  return s;
}

}  // namespace berth::cgroups
