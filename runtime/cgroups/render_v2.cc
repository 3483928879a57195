// linux.resources → cgroup2 files (Documentation/admin-guide/cgroup-v2.rst),
// with the v1 → v2 unit conversions runc and crun share.
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "runtime/cgroups/render.h"

namespace berth::cgroups {
namespace {

constexpr char kField[] = "linux.resources.";

class V2Writes {
 public:
  void Add(std::string file, std::string value, std::string field) {
    out_.push_back({"", {{std::move(file), std::move(value)}}, absl::StrCat(kField, field)});
  }
  // Written only where the file exists.
  void AddOptional(std::string file, std::string value, std::string field) {
    out_.push_back({"", {{std::move(file), std::move(value)}}, absl::StrCat(kField, field), true});
  }
  void AddChoice(std::vector<FileValue> candidates, std::string field) {
    out_.push_back({"", std::move(candidates), absl::StrCat(kField, field)});
  }
  std::vector<FileWrite> Take() { return std::move(out_); }

 private:
  std::vector<FileWrite> out_;
};

absl::Status Unsupported(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(kField, field, ": not supported on cgroup v2 (", why, ")"));
}

std::string MaxOr(int64_t v) { return v < 0 ? "max" : absl::StrCat(v); }

absl::Status RenderMemory(const spec::MemoryResources& m, V2Writes* w) {
  if (m.limit && *m.limit != 0) w->Add("memory.max", MaxOr(*m.limit), "memory.limit");
  if (m.swap && *m.swap != 0) {
    auto swap = SwapMaxV2(m.limit, *m.swap);
    if (!swap.ok()) return swap.status();
    w->Add("memory.swap.max", *swap, "memory.swap");
  }
  if (m.reservation && *m.reservation != 0) {
    w->Add("memory.low", MaxOr(*m.reservation), "memory.reservation");
  }
  // kernel, kernelTCP, swappiness, disableOOMKiller and useHierarchy have no
  // cgroup2 file; like runc, they are ignored there.
  return absl::OkStatus();
}

absl::Status RenderCpu(const spec::CpuResources& c, V2Writes* w) {
  bool runtime = c.realtime_runtime && *c.realtime_runtime != 0;
  if (runtime || (c.realtime_period && *c.realtime_period != 0)) {
    return Unsupported(runtime ? "cpu.realtimeRuntime" : "cpu.realtimePeriod",
                       "no realtime group scheduling in cgroup2");
  }
  if (c.shares && *c.shares != 0) {
    w->Add("cpu.weight", absl::StrCat(SharesToWeight(*c.shares)), "cpu.shares");
  }
  bool quota = c.quota && *c.quota != 0;
  bool period = c.period && *c.period != 0;
  if (quota || period)
    w->Add("cpu.max", CpuMax(c.quota, c.period), quota ? "cpu.quota" : "cpu.period");
  if (c.burst) w->Add("cpu.max.burst", absl::StrCat(*c.burst), "cpu.burst");
  if (c.idle) w->Add("cpu.idle", absl::StrCat(*c.idle), "cpu.idle");
  if (!c.cpus.empty()) w->Add("cpuset.cpus", c.cpus, "cpu.cpus");
  if (!c.mems.empty()) w->Add("cpuset.mems", c.mems, "cpu.mems");
  return absl::OkStatus();
}

std::string Device(int64_t major, int64_t minor) { return absl::StrCat(major, ":", minor); }

void RenderBlockIo(const spec::BlockIoResources& b, V2Writes* w) {
  // BFQ takes blkio-style weights as they are; io.weight needs converting.
  if (b.weight && *b.weight != 0) {
    w->AddChoice({{"io.bfq.weight", absl::StrCat(*b.weight)},
                  {"io.weight", absl::StrCat(BlkioWeightToIoWeight(*b.weight))}},
                 "blockIO.weight");
  }
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const spec::WeightDevice& d = b.weight_device[i];
    if (!d.weight) continue;
    std::string dev = Device(d.major, d.minor);
    w->AddChoice({{"io.bfq.weight", absl::StrCat(dev, " ", *d.weight)},
                  {"io.weight", absl::StrCat(dev, " ", BlkioWeightToIoWeight(*d.weight))}},
                 absl::StrCat("blockIO.weightDevice[", i, "].weight"));
  }
  const std::tuple<const char*, const char*, const std::vector<spec::ThrottleDevice>*> kinds[] = {
      {"rbps", "throttleReadBpsDevice", &b.throttle_read_bps_device},
      {"wbps", "throttleWriteBpsDevice", &b.throttle_write_bps_device},
      {"riops", "throttleReadIOPSDevice", &b.throttle_read_iops_device},
      {"wiops", "throttleWriteIOPSDevice", &b.throttle_write_iops_device},
  };
  for (const auto& [key, name, list] : kinds) {
    for (size_t i = 0; i < list->size(); ++i) {
      const spec::ThrottleDevice& d = (*list)[i];
      // In v1 a rate of 0 removes the limit; io.max spells that "max".
      std::string rate = d.rate == 0 ? "max" : absl::StrCat(d.rate);
      w->Add("io.max", absl::StrCat(Device(d.major, d.minor), " ", key, "=", rate),
             absl::StrCat("blockIO.", name, "[", i, "]"));
    }
  }
}

}  // namespace

uint64_t SharesToWeight(uint64_t shares) {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  // A quadratic in log space through (2, 1), (1024, 100) and (262144,
  // 10000): the default shares give the default weight (runc >= 1.3.2,
  // crun >= 1.23; the old linear map gave 1024 → 39).
  double l = std::log2(static_cast<double>(shares));
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, (l * l + 125 * l) / 612.0 - 7.0 / 34.0)));
}

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

std::string CpuMax(std::optional<int64_t> quota, std::optional<uint64_t> period) {
  std::string out = quota && *quota > 0 ? absl::StrCat(*quota) : "max";
  if (period && *period != 0) absl::StrAppend(&out, " ", *period);
  return out;
}

absl::StatusOr<std::string> SwapMaxV2(std::optional<int64_t> limit, int64_t swap) {
  if (swap < 0) return std::string("max");
  if (!limit || *limit == 0) {
    return absl::InvalidArgumentError(
        "linux.resources.memory.swap: needs memory.limit as well on cgroup v2, where swap is "
        "limited on its own (memory.swap.max = swap - limit)");
  }
  if (*limit < 0) return std::string("max");
  if (swap < *limit) {
    return absl::InvalidArgumentError(absl::StrCat("linux.resources.memory.swap: ", swap,
                                                   " is below memory.limit ", *limit,
                                                   " (swap is the limit of memory plus swap)"));
  }
  return absl::StrCat(swap - *limit);
}

namespace {

// "max" → -1, a number → itself, anything else (unreadable) → nullopt.
std::optional<int64_t> LimitOf(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text == "max") return -1;
  int64_t v;
  if (absl::SimpleAtoi(text, &v)) return v;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<spec::Resources> CompleteUpdateV2(spec::Resources r, const V2Current& now) {
  if (r.cpu && r.cpu->period && *r.cpu->period != 0 && !r.cpu->quota) {
    std::vector<absl::string_view> f = absl::StrSplit(now.cpu_max, ' ', absl::SkipEmpty());
    if (!f.empty()) r.cpu->quota = LimitOf(f[0]);
  }
  if (!r.memory) return r;
  spec::MemoryResources& m = *r.memory;
  bool limit = m.limit && *m.limit != 0;
  bool swap = m.swap && *m.swap != 0;
  std::optional<int64_t> mem_now = LimitOf(now.memory_max);
  std::optional<int64_t> swap_now = LimitOf(now.memory_swap_max);
  if (swap && !limit && *m.swap > 0) {
    if (!mem_now || *mem_now < 0) {
      return absl::InvalidArgumentError(
          "linux.resources.memory.swap: memory.max is not limited, so memory+swap cannot be; "
          "give memory.limit (--memory) as well");
    }
    m.limit = *mem_now;
  } else if (limit && !swap && *m.limit < 0) {
    m.swap = -1;  // memory unlimited: memory+swap too (runc)
  } else if (limit && !swap && mem_now && *mem_now >= 0 && swap_now && *swap_now >= 0) {
    int64_t total = *mem_now + *swap_now;
    if (*m.limit > total) {
      return absl::InvalidArgumentError(absl::StrCat(
          "linux.resources.memory.limit: ", *m.limit, " is above the memory+swap limit ", total,
          " now in force (memory.max + memory.swap.max); give memory.swap (--memory-swap) too"));
    }
    m.swap = total;
  }
  return r;
}

absl::StatusOr<std::vector<FileWrite>> RenderV2(const spec::Resources& r) {
  V2Writes w;
  if (r.memory) BERTH_RETURN_IF_ERROR(RenderMemory(*r.memory, &w));
  if (r.cpu) BERTH_RETURN_IF_ERROR(RenderCpu(*r.cpu, &w));
  if (r.pids && r.pids->limit != 0) w.Add("pids.max", MaxOr(r.pids->limit), "pids.limit");
  if (r.block_io) {
    if (r.block_io->leaf_weight && *r.block_io->leaf_weight != 0) {
      return Unsupported("blockIO.leafWeight", "CFQ only");
    }
    RenderBlockIo(*r.block_io, &w);
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const spec::HugepageLimit& h = r.hugepage_limits[i];
    std::string field = absl::StrCat("hugepageLimits[", i, "]");
    w.Add(absl::StrCat("hugetlb.", h.page_size, ".max"), absl::StrCat(h.limit), field);
    // Reservations (kernel 5.7+) are limited too, as current runc does:
    // otherwise a mapping can reserve pages it is then refused at fault.
    w.AddOptional(absl::StrCat("hugetlb.", h.page_size, ".rsvd.max"), absl::StrCat(h.limit), field);
  }
  if (r.network && (r.network->class_id || !r.network->priorities.empty())) {
    return Unsupported("network", "net_cls and net_prio are v1 controllers");
  }
  std::vector<FileWrite> out = w.Take();
  for (auto& [field, line] : RenderRdma(r.rdma)) out.push_back({"", {{"rdma.max", line}}, field});
  // Verbatim, and last, so they override the translated values.
  for (const auto& [key, value] : r.unified) {
    out.push_back({"", {{key, value}}, absl::StrCat(kField, "unified[\"", key, "\"]")});
  }
  return out;
}

}  // namespace berth::cgroups
