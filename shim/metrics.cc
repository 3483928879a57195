#include "shim/metrics.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include "absl/strings/str_cat.h"
#include "cgroups_v1_metrics.pb.h"
#include "cgroups_v2_metrics.pb.h"
#include "lib/errors.h"
#include "lib/json_tree.h"

namespace berth::shim {
namespace {

uint64_t U(const json::Value& v, absl::string_view key) {
  absl::StatusOr<uint64_t> n = v.Get(key).AsUint64();
  return n.ok() ? *n : 0;
}

uint64_t Raw(const json::Value& memory, absl::string_view key) { return U(memory.Get("raw"), key); }

void FillEntry(const json::Value& v, io::containerd::cgroups::v1::MemoryEntry* e) {
  e->set_limit(U(v, "limit"));
  e->set_usage(U(v, "usage"));
  e->set_max(U(v, "max"));
  e->set_failcnt(U(v, "failcnt"));
}

void FillBlkio(const json::Value& list,
               google::protobuf::RepeatedPtrField<io::containerd::cgroups::v1::BlkIOEntry>* out) {
  for (const json::Value& e : list.Elements()) {
    auto* entry = out->Add();
    entry->set_major(U(e, "major"));
    entry->set_minor(U(e, "minor"));
    absl::StatusOr<std::string> op = e.Get("op").AsString();
    if (op.ok()) entry->set_op(*op);
    entry->set_value(U(e, "value"));
  }
}

std::string V1(const json::Value& d) {
  io::containerd::cgroups::v1::Metrics m;
  json::Value cpu = d.Get("cpu");
  auto* usage = m.mutable_cpu()->mutable_usage();
  usage->set_total(U(cpu.Get("usage"), "total"));
  usage->set_kernel(U(cpu.Get("usage"), "kernel"));
  usage->set_user(U(cpu.Get("usage"), "user"));
  for (const json::Value& v : cpu.Get("usage").Get("percpu").Elements()) {
    absl::StatusOr<uint64_t> n = v.AsUint64();
    usage->add_per_cpu(n.ok() ? *n : 0);
  }
  auto* thr = m.mutable_cpu()->mutable_throttling();
  thr->set_periods(U(cpu.Get("throttling"), "periods"));
  thr->set_throttled_periods(U(cpu.Get("throttling"), "throttledPeriods"));
  thr->set_throttled_time(U(cpu.Get("throttling"), "throttledTime"));

  json::Value mem = d.Get("memory");
  auto* ms = m.mutable_memory();
  ms->set_cache(U(mem, "cache"));
  ms->set_rss(Raw(mem, "rss"));
  ms->set_rss_huge(Raw(mem, "rss_huge"));
  ms->set_mapped_file(Raw(mem, "mapped_file"));
  ms->set_dirty(Raw(mem, "dirty"));
  ms->set_writeback(Raw(mem, "writeback"));
  ms->set_pg_pg_in(Raw(mem, "pgpgin"));
  ms->set_pg_pg_out(Raw(mem, "pgpgout"));
  ms->set_pg_fault(Raw(mem, "pgfault"));
  ms->set_pg_maj_fault(Raw(mem, "pgmajfault"));
  ms->set_inactive_anon(Raw(mem, "inactive_anon"));
  ms->set_active_anon(Raw(mem, "active_anon"));
  ms->set_inactive_file(Raw(mem, "inactive_file"));
  ms->set_active_file(Raw(mem, "active_file"));
  ms->set_unevictable(Raw(mem, "unevictable"));
  ms->set_hierarchical_memory_limit(Raw(mem, "hierarchical_memory_limit"));
  ms->set_hierarchical_swap_limit(Raw(mem, "hierarchical_memsw_limit"));
  ms->set_total_cache(Raw(mem, "total_cache"));
  ms->set_total_rss(Raw(mem, "total_rss"));
  ms->set_total_rss_huge(Raw(mem, "total_rss_huge"));
  ms->set_total_mapped_file(Raw(mem, "total_mapped_file"));
  ms->set_total_dirty(Raw(mem, "total_dirty"));
  ms->set_total_writeback(Raw(mem, "total_writeback"));
  ms->set_total_pg_pg_in(Raw(mem, "total_pgpgin"));
  ms->set_total_pg_pg_out(Raw(mem, "total_pgpgout"));
  ms->set_total_pg_fault(Raw(mem, "total_pgfault"));
  ms->set_total_pg_maj_fault(Raw(mem, "total_pgmajfault"));
  ms->set_total_inactive_anon(Raw(mem, "total_inactive_anon"));
  ms->set_total_active_anon(Raw(mem, "total_active_anon"));
  ms->set_total_inactive_file(Raw(mem, "total_inactive_file"));
  ms->set_total_active_file(Raw(mem, "total_active_file"));
  ms->set_total_unevictable(Raw(mem, "total_unevictable"));
  FillEntry(mem.Get("usage"), ms->mutable_usage());
  FillEntry(mem.Get("swap"), ms->mutable_swap());
  FillEntry(mem.Get("kernel"), ms->mutable_kernel());
  FillEntry(mem.Get("kernelTCP"), ms->mutable_kernel_tcp());

  m.mutable_pids()->set_current(U(d.Get("pids"), "current"));
  m.mutable_pids()->set_limit(U(d.Get("pids"), "limit"));

  json::Value blkio = d.Get("blkio");
  FillBlkio(blkio.Get("ioServiceBytesRecursive"),
            m.mutable_blkio()->mutable_io_service_bytes_recursive());
  FillBlkio(blkio.Get("ioServicedRecursive"), m.mutable_blkio()->mutable_io_serviced_recursive());
  FillBlkio(blkio.Get("ioQueueRecursive"), m.mutable_blkio()->mutable_io_queued_recursive());
  FillBlkio(blkio.Get("ioServiceTimeRecursive"),
            m.mutable_blkio()->mutable_io_service_time_recursive());
  FillBlkio(blkio.Get("ioWaitTimeRecursive"), m.mutable_blkio()->mutable_io_wait_time_recursive());
  FillBlkio(blkio.Get("ioMergedRecursive"), m.mutable_blkio()->mutable_io_merged_recursive());
  FillBlkio(blkio.Get("ioTimeRecursive"), m.mutable_blkio()->mutable_io_time_recursive());
  FillBlkio(blkio.Get("sectorsRecursive"), m.mutable_blkio()->mutable_sectors_recursive());

  for (const auto& [size, h] : d.Get("hugetlb").Members()) {
    auto* stat = m.add_hugetlb();
    stat->set_pagesize(size);
    stat->set_usage(U(h, "usage"));
    stat->set_max(U(h, "max"));
    stat->set_failcnt(U(h, "failcnt"));
  }
  return m.SerializeAsString();
}

std::string V2(const json::Value& d) {
  io::containerd::cgroups::v2::Metrics m;
  m.mutable_pids()->set_current(U(d.Get("pids"), "current"));
  m.mutable_pids()->set_limit(U(d.Get("pids"), "limit"));
  json::Value cpu = d.Get("cpu");
  auto* c = m.mutable_cpu();
  // runc reports nanoseconds; cgroup v2 metrics are in microseconds.
  c->set_usage_usec(U(cpu.Get("usage"), "total") / 1000);
  c->set_user_usec(U(cpu.Get("usage"), "user") / 1000);
  c->set_system_usec(U(cpu.Get("usage"), "kernel") / 1000);
  c->set_nr_periods(U(cpu.Get("throttling"), "periods"));
  c->set_nr_throttled(U(cpu.Get("throttling"), "throttledPeriods"));
  c->set_throttled_usec(U(cpu.Get("throttling"), "throttledTime") / 1000);
  json::Value mem = d.Get("memory");
  auto* ms = m.mutable_memory();
  ms->set_anon(Raw(mem, "anon"));
  ms->set_file(Raw(mem, "file"));
  ms->set_kernel_stack(Raw(mem, "kernel_stack"));
  ms->set_slab(Raw(mem, "slab"));
  ms->set_sock(Raw(mem, "sock"));
  ms->set_shmem(Raw(mem, "shmem"));
  ms->set_file_mapped(Raw(mem, "file_mapped"));
  ms->set_file_dirty(Raw(mem, "file_dirty"));
  ms->set_file_writeback(Raw(mem, "file_writeback"));
  ms->set_anon_thp(Raw(mem, "anon_thp"));
  ms->set_inactive_anon(Raw(mem, "inactive_anon"));
  ms->set_active_anon(Raw(mem, "active_anon"));
  ms->set_inactive_file(Raw(mem, "inactive_file"));
  ms->set_active_file(Raw(mem, "active_file"));
  ms->set_unevictable(Raw(mem, "unevictable"));
  ms->set_slab_reclaimable(Raw(mem, "slab_reclaimable"));
  ms->set_slab_unreclaimable(Raw(mem, "slab_unreclaimable"));
  ms->set_pgfault(Raw(mem, "pgfault"));
  ms->set_pgmajfault(Raw(mem, "pgmajfault"));
  ms->set_usage(U(mem.Get("usage"), "usage"));
  ms->set_usage_limit(U(mem.Get("usage"), "limit"));
  // runc's JSON (and berth's) reports swap as memory+swap, as on v1; the v2
  // metrics carry swap alone.
  uint64_t usage = U(mem.Get("usage"), "usage"), limit = U(mem.Get("usage"), "limit");
  uint64_t swap_usage = U(mem.Get("swap"), "usage"), swap_limit = U(mem.Get("swap"), "limit");
  ms->set_swap_usage(swap_usage >= usage ? swap_usage - usage : swap_usage);
  ms->set_swap_limit(swap_limit >= limit && swap_limit != UINT64_MAX ? swap_limit - limit
                                                                     : swap_limit);
  for (const auto& [size, h] : d.Get("hugetlb").Members()) {
    auto* stat = m.add_hugetlb();
    stat->set_pagesize(size);
    stat->set_current(U(h, "usage"));
    stat->set_max(U(h, "max"));
  }
  return m.SerializeAsString();
}

}  // namespace

absl::StatusOr<berth::pb::Any> MetricsFromStatsJson(absl::string_view text, bool unified) {
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(text, "events --stats output"));
  json::Value data = doc->root().Get("data");
  if (!data.is_object()) return data.Error("expected the stats object");
  berth::pb::Any any;
  any.set_type_url(unified ? "io.containerd.cgroups.v2.Metrics"
                           : "io.containerd.cgroups.v1.Metrics");
  any.set_value(unified ? V2(data) : V1(data));
  return any;
}

bool UnifiedCgroupHost() {
  struct statfs fs = {};
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace berth::shim
