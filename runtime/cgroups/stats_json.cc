// Mirrors runc's types/events.go: a uint64 tagged omitempty there is left
// out here when zero; nested objects are always present.
#include "lib/json_writer.h"
#include "runtime/cgroups/stats.h"

namespace berth::cgroups {
namespace {

void OmitZero(JsonWriter& w, absl::string_view key, uint64_t v) {
  if (v != 0) w.Key(key).Uint(v);
}

void UintList(JsonWriter& w, absl::string_view key, const std::vector<uint64_t>& list,
              bool omit_empty) {
  if (omit_empty && list.empty()) return;
  w.Key(key).BeginArray();
  for (uint64_t v : list) w.Uint(v);
  w.EndArray();
}

void WriteCpu(JsonWriter& w, const CpuStats& c) {
  w.Key("cpu").BeginObject();
  w.Key("usage").BeginObject();
  OmitZero(w, "total", c.usage.total);
  UintList(w, "percpu", c.usage.percpu, true);
  UintList(w, "percpu_kernel", c.usage.percpu_kernel, true);
  UintList(w, "percpu_user", c.usage.percpu_user, true);
  w.Key("kernel").Uint(c.usage.kernel);
  w.Key("user").Uint(c.usage.user);
  w.EndObject();
  w.Key("throttling").BeginObject();
  OmitZero(w, "periods", c.throttling.periods);
  OmitZero(w, "throttledPeriods", c.throttling.throttled_periods);
  OmitZero(w, "throttledTime", c.throttling.throttled_time);
  w.EndObject();
  w.EndObject();
}

void WriteCpuset(JsonWriter& w, const CpusetStats& c) {
  w.Key("cpuset").BeginObject();
  UintList(w, "cpus", c.cpus, true);
  w.Key("cpu_exclusive").Uint(c.cpu_exclusive);
  UintList(w, "mems", c.mems, true);
  w.Key("mem_hardwall").Uint(c.mem_hardwall);
  w.Key("mem_exclusive").Uint(c.mem_exclusive);
  w.Key("memory_migrate").Uint(c.memory_migrate);
  w.Key("memory_spread_page").Uint(c.memory_spread_page);
  w.Key("memory_spread_slab").Uint(c.memory_spread_slab);
  w.Key("memory_pressure").Uint(c.memory_pressure);
  w.Key("sched_load_balance").Uint(c.sched_load_balance);
  w.Key("sched_relax_domain_level").Int(c.sched_relax_domain_level);
  w.EndObject();
}

void WriteMemoryEntry(JsonWriter& w, absl::string_view key, const MemoryEntry& e) {
  w.Key(key).BeginObject();
  w.Key("limit").Uint(e.limit);
  OmitZero(w, "usage", e.usage);
  OmitZero(w, "max", e.max);
  w.Key("failcnt").Uint(e.failcnt);
  w.EndObject();
}

void WriteMemory(JsonWriter& w, const MemoryStats& m) {
  w.Key("memory").BeginObject();
  OmitZero(w, "cache", m.cache);
  WriteMemoryEntry(w, "usage", m.usage);
  WriteMemoryEntry(w, "swap", m.swap);
  WriteMemoryEntry(w, "kernel", m.kernel);
  WriteMemoryEntry(w, "kernelTCP", m.kernel_tcp);
  if (!m.raw.empty()) {
    w.Key("raw").BeginObject();
    for (const auto& [k, v] : m.raw) w.Key(k).Uint(v);
    w.EndObject();
  }
  w.EndObject();
}

void WriteBlkioList(JsonWriter& w, absl::string_view key, const std::vector<BlkioEntry>& list) {
  if (list.empty()) return;
  w.Key(key).BeginArray();
  for (const BlkioEntry& e : list) {
    w.BeginObject();
    OmitZero(w, "major", e.major);
    OmitZero(w, "minor", e.minor);
    if (!e.op.empty()) w.Key("op").String(e.op);
    OmitZero(w, "value", e.value);
    w.EndObject();
  }
  w.EndArray();
}

void WriteData(JsonWriter& w, const Stats& s) {
  w.BeginObject();
  WriteCpu(w, s.cpu);
  WriteCpuset(w, s.cpuset);
  WriteMemory(w, s.memory);
  w.Key("pids").BeginObject();
  OmitZero(w, "current", s.pids.current);
  OmitZero(w, "limit", s.pids.limit);
  w.EndObject();
  w.Key("blkio").BeginObject();
  WriteBlkioList(w, "ioServiceBytesRecursive", s.blkio.io_service_bytes_recursive);
  WriteBlkioList(w, "ioServicedRecursive", s.blkio.io_serviced_recursive);
  w.EndObject();
  w.Key("hugetlb").BeginObject();
  for (const auto& [size, h] : s.hugetlb) {
    w.Key(size).BeginObject();
    OmitZero(w, "usage", h.usage);
    OmitZero(w, "max", h.max);
    w.Key("failcnt").Uint(h.failcnt);
    w.EndObject();
  }
  w.EndObject();
  w.Key("intel_rdt").BeginObject().EndObject();
  w.Key("network_interfaces").Null();
  w.EndObject();
}

}  // namespace

std::string RenderStatsEvent(absl::string_view id, const Stats& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String("stats");
  w.Key("id").String(id);
  w.Key("data");
  WriteData(w, s);
  w.EndObject();
  return w.Take();
}

std::string RenderOomEvent(absl::string_view id) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String("oom");
  w.Key("id").String(id);
  w.EndObject();
  return w.Take();
}

}  // namespace berth::cgroups
