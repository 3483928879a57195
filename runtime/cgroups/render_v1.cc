// linux.resources → cgroup v1 files (the kernel's cgroup-v1 documentation
// names; runc writes the same files).
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/cgroups/render.h"

namespace berth::cgroups {
namespace {

constexpr char kField[] = "linux.resources.";

class V1Writes {
 public:
  void Add(std::string controller, std::string file, std::string value, std::string field,
           bool optional = false) {
    out_.push_back({std::move(controller),
                    {{std::move(file), std::move(value)}},
                    absl::StrCat(kField, field),
                    optional});
  }
  void AddChoice(std::string controller, std::vector<FileValue> candidates, std::string field) {
    out_.push_back({std::move(controller), std::move(candidates), absl::StrCat(kField, field)});
  }
  // Marks the write just added as one to retry after the next (see FileWrite).
  void RetryAfterNext(bool has_next) { out_.back().retry_after_next = has_next; }
  std::vector<FileWrite> Take() { return std::move(out_); }

 private:
  std::vector<FileWrite> out_;
};

// As in runc, a value of 0 means "leave as is".
bool NonZero(const std::optional<int64_t>& v) { return v && *v != 0; }
bool NonZero(const std::optional<uint64_t>& v) { return v && *v != 0; }

// memory.limit_in_bytes must never exceed memory.memsw.limit_in_bytes, so
// when both change the order depends on where the limits are now.
void RenderMemoryAndSwap(const spec::MemoryResources& m, const V1Context& ctx, V1Writes* w) {
  std::optional<int64_t> swap = NonZero(m.swap) ? m.swap : std::nullopt;
  // Unlimited memory with swap left alone: lift the memsw limit too (runc).
  if (m.limit == -1 && !swap && ctx.has_memsw) swap = -1;
  auto write_limit = [&] {
    w->Add("memory", "memory.limit_in_bytes", absl::StrCat(*m.limit), "memory.limit");
  };
  auto write_swap = [&] {
    // "Unlimited" needs no memsw file: dockerd sends -1 on hosts without
    // swap accounting, where the file does not exist (runc skips it too).
    w->Add("memory", "memory.memsw.limit_in_bytes", absl::StrCat(*swap), "memory.swap",
           /*optional=*/*swap == -1);
  };
  if (NonZero(m.limit) && swap) {
    bool swap_first = *swap == -1 || (ctx.current_memory_limit &&
                                      *ctx.current_memory_limit < static_cast<uint64_t>(*swap));
    if (swap_first) {
      write_swap();
      write_limit();
    } else {
      write_limit();
      write_swap();
    }
  } else if (NonZero(m.limit)) {
    write_limit();
  } else if (swap) {
    write_swap();
  }
}

void RenderMemory(const spec::MemoryResources& m, const V1Context& ctx, V1Writes* w) {
  RenderMemoryAndSwap(m, ctx, w);
  if (NonZero(m.reservation)) {
    w->Add("memory", "memory.soft_limit_in_bytes", absl::StrCat(*m.reservation),
           "memory.reservation");
  }
  // Kernel memory limits are gone from recent kernels; skip them there.
  if (NonZero(m.kernel)) {
    w->Add("memory", "memory.kmem.limit_in_bytes", absl::StrCat(*m.kernel), "memory.kernel",
           /*optional=*/true);
  }
  if (NonZero(m.kernel_tcp)) {
    w->Add("memory", "memory.kmem.tcp.limit_in_bytes", absl::StrCat(*m.kernel_tcp),
           "memory.kernelTCP");
  }
  if (m.swappiness) {
    w->Add("memory", "memory.swappiness", absl::StrCat(*m.swappiness), "memory.swappiness");
  }
  if (m.disable_oom_killer) {
    w->Add("memory", "memory.oom_control", *m.disable_oom_killer ? "1" : "0",
           "memory.disableOOMKiller");
  }
  if (m.use_hierarchy && (*m.use_hierarchy || !ctx.hierarchy_always_on)) {
    w->Add("memory", "memory.use_hierarchy", *m.use_hierarchy ? "1" : "0", "memory.useHierarchy");
  }
}

void RenderCpu(const spec::CpuResources& c, V1Writes* w) {
  if (NonZero(c.shares)) w->Add("cpu", "cpu.shares", absl::StrCat(*c.shares), "cpu.shares");
  // The period first: a quota is checked against it.
  if (NonZero(c.period)) {
    w->Add("cpu", "cpu.cfs_period_us", absl::StrCat(*c.period), "cpu.period");
    w->RetryAfterNext(NonZero(c.quota));
  }
  if (NonZero(c.quota)) w->Add("cpu", "cpu.cfs_quota_us", absl::StrCat(*c.quota), "cpu.quota");
  if (c.burst) w->Add("cpu", "cpu.cfs_burst_us", absl::StrCat(*c.burst), "cpu.burst");
  if (NonZero(c.realtime_period)) {
    w->Add("cpu", "cpu.rt_period_us", absl::StrCat(*c.realtime_period), "cpu.realtimePeriod");
    w->RetryAfterNext(NonZero(c.realtime_runtime));
  }
  if (NonZero(c.realtime_runtime)) {
    w->Add("cpu", "cpu.rt_runtime_us", absl::StrCat(*c.realtime_runtime), "cpu.realtimeRuntime");
  }
  if (c.idle) w->Add("cpu", "cpu.idle", absl::StrCat(*c.idle), "cpu.idle");
  if (!c.cpus.empty()) w->Add("cpuset", "cpuset.cpus", c.cpus, "cpu.cpus");
  if (!c.mems.empty()) w->Add("cpuset", "cpuset.mems", c.mems, "cpu.mems");
}

std::string DeviceValue(int64_t major, int64_t minor, uint64_t value) {
  return absl::StrCat(major, ":", minor, " ", value);
}

void RenderBlockIo(const spec::BlockIoResources& b, V1Writes* w) {
  if (b.weight && *b.weight != 0) {
    std::string v = absl::StrCat(*b.weight);
    w->AddChoice("blkio", {{"blkio.weight", v}, {"blkio.bfq.weight", v}}, "blockIO.weight");
  }
  if (b.leaf_weight && *b.leaf_weight != 0) {
    w->Add("blkio", "blkio.leaf_weight", absl::StrCat(*b.leaf_weight), "blockIO.leafWeight");
  }
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const spec::WeightDevice& d = b.weight_device[i];
    std::string field = absl::StrCat("blockIO.weightDevice[", i, "]");
    if (d.weight) {
      std::string v = DeviceValue(d.major, d.minor, *d.weight);
      w->AddChoice("blkio", {{"blkio.weight_device", v}, {"blkio.bfq.weight_device", v}},
                   absl::StrCat(field, ".weight"));
    }
    if (d.leaf_weight) {
      w->Add("blkio", "blkio.leaf_weight_device", DeviceValue(d.major, d.minor, *d.leaf_weight),
             absl::StrCat(field, ".leafWeight"));
    }
  }
  const std::tuple<const char*, const char*, const std::vector<spec::ThrottleDevice>*> kinds[] = {
      {"blkio.throttle.read_bps_device", "throttleReadBpsDevice", &b.throttle_read_bps_device},
      {"blkio.throttle.write_bps_device", "throttleWriteBpsDevice", &b.throttle_write_bps_device},
      {"blkio.throttle.read_iops_device", "throttleReadIOPSDevice", &b.throttle_read_iops_device},
      {"blkio.throttle.write_iops_device", "throttleWriteIOPSDevice",
       &b.throttle_write_iops_device},
  };
  for (const auto& [file, name, list] : kinds) {
    for (size_t i = 0; i < list->size(); ++i) {
      const spec::ThrottleDevice& d = (*list)[i];
      w->Add("blkio", file, DeviceValue(d.major, d.minor, d.rate),
             absl::StrCat("blockIO.", name, "[", i, "]"));
    }
  }
}

void RenderHugetlb(const std::vector<spec::HugepageLimit>& limits, V1Writes* w) {
  for (size_t i = 0; i < limits.size(); ++i) {
    w->Add("hugetlb", absl::StrCat("hugetlb.", limits[i].page_size, ".limit_in_bytes"),
           absl::StrCat(limits[i].limit), absl::StrCat("hugepageLimits[", i, "]"));
  }
}

void RenderNetwork(const spec::NetworkResources& n, V1Writes* w) {
  if (n.class_id) {
    w->Add("net_cls", "net_cls.classid", absl::StrCat(*n.class_id), "network.classID");
  }
  for (size_t i = 0; i < n.priorities.size(); ++i) {
    w->Add("net_prio", "net_prio.ifpriomap",
           absl::StrCat(n.priorities[i].name, " ", n.priorities[i].priority),
           absl::StrCat("network.priorities[", i, "]"));
  }
}

}  // namespace

// Shared by both versions: rdma.max has the same syntax in v1 and cgroup2.
std::vector<std::pair<std::string, std::string>> RenderRdma(
    const std::map<std::string, spec::RdmaLimit>& rdma) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [device, limit] : rdma) {
    if (!limit.hca_handles && !limit.hca_objects) continue;
    std::string line = device;
    if (limit.hca_handles) absl::StrAppend(&line, " hca_handle=", *limit.hca_handles);
    if (limit.hca_objects) absl::StrAppend(&line, " hca_object=", *limit.hca_objects);
    out.emplace_back(absl::StrCat(kField, "rdma.", device), line);
  }
  return out;
}

absl::StatusOr<std::vector<FileWrite>> RenderV1(const spec::Resources& r, const V1Context& ctx) {
  if (!r.unified.empty()) {
    return absl::InvalidArgumentError(
        "linux.resources.unified: cgroup v2 settings cannot be applied on a cgroup v1 host");
  }
  V1Writes w;
  if (r.memory) RenderMemory(*r.memory, ctx, &w);
  if (r.cpu) RenderCpu(*r.cpu, &w);
  if (r.pids && r.pids->limit != 0) {
    w.Add("pids", "pids.max", r.pids->limit > 0 ? absl::StrCat(r.pids->limit) : "max",
          "pids.limit");
  }
  if (r.block_io) RenderBlockIo(*r.block_io, &w);
  RenderHugetlb(r.hugepage_limits, &w);
  if (r.network) RenderNetwork(*r.network, &w);
  std::vector<FileWrite> out = w.Take();
  for (auto& [field, line] : RenderRdma(r.rdma)) {
    out.push_back({"rdma", {{"rdma.max", line}}, field});
  }
  return out;
}

}  // namespace berth::cgroups
