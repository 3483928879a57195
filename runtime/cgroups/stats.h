// A container's resource usage as `runc events` reports it, and the JSON
// rendering callers decode (containerd's go-runc Stats, see CALLERS.md).
// Field names and which zero values are left out follow runc's types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::cgroups {

struct CpuUsage {
  uint64_t total = 0;  // nanoseconds
  std::vector<uint64_t> percpu, percpu_kernel, percpu_user;
  uint64_t kernel = 0, user = 0;
};

struct Throttling {
  uint64_t periods = 0, throttled_periods = 0, throttled_time = 0;  // time in ns
};

struct CpuStats {
  CpuUsage usage;
  Throttling throttling;
};

struct CpusetStats {
  std::vector<uint64_t> cpus, mems;
  uint64_t cpu_exclusive = 0, mem_hardwall = 0, mem_exclusive = 0, memory_migrate = 0,
           memory_spread_page = 0, memory_spread_slab = 0, memory_pressure = 0,
           sched_load_balance = 0;
  int64_t sched_relax_domain_level = 0;
};

struct MemoryEntry {
  uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
};

struct MemoryStats {
  uint64_t cache = 0;
  MemoryEntry usage, swap, kernel, kernel_tcp;
  std::map<std::string, uint64_t> raw;
};

struct PidsStats {
  uint64_t current = 0, limit = 0;  // limit 0: unlimited
};

struct BlkioEntry {
  uint64_t major = 0, minor = 0;
  std::string op;
  uint64_t value = 0;
};

struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive, io_serviced_recursive;
};

struct HugetlbStats {
  uint64_t usage = 0, max = 0, failcnt = 0;
};

struct Stats {
  CpuStats cpu;
  CpusetStats cpuset;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // page size ("2MB") → usage
};

// {"type":"stats","id":ID,"data":{...}} on one line, no newline.
std::string RenderStatsEvent(absl::string_view id, const Stats& s);
// {"type":"oom","id":ID}
std::string RenderOomEvent(absl::string_view id);

}  // namespace berth::cgroups
