// A shim's cgroup metrics (containerd's v1 or v2 Metrics, by type URL) as the
// few figures berth.v1.MetricsResponse carries.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cgroups_v1_metrics.pb.h"
#include "cgroups_v2_metrics.pb.h"
#include "supervisor/services/convert.h"

namespace berth::supervisor {

absl::Status FillMetrics(const containerd::task::v2::StatsResponse& stats,
                         v1::MetricsResponse* out) {
  const std::string& type = stats.stats().type_url();
  const std::string& value = stats.stats().value();
  // "unlimited" in cgroup v1 is a huge number: report it as none.
  constexpr uint64_t kUnlimited = uint64_t{1} << 62;
  if (absl::EndsWith(type, "io.containerd.cgroups.v2.Metrics")) {
    io::containerd::cgroups::v2::Metrics m;
    if (!m.ParseFromString(value)) return absl::DataLossError("metrics: malformed v2 Metrics");
    out->set_memory_usage_bytes(m.memory().usage());
    out->set_memory_limit_bytes(m.memory().usage_limit() >= kUnlimited ? 0
                                                                       : m.memory().usage_limit());
    out->set_cpu_usage_ns(m.cpu().usage_usec() * 1000);
    out->set_pids_current(m.pids().current());
    out->set_pids_limit(m.pids().limit());
    return absl::OkStatus();
  }
  if (absl::EndsWith(type, "io.containerd.cgroups.v1.Metrics")) {
    io::containerd::cgroups::v1::Metrics m;
    if (!m.ParseFromString(value)) return absl::DataLossError("metrics: malformed v1 Metrics");
    out->set_memory_usage_bytes(m.memory().usage().usage());
    uint64_t limit = m.memory().usage().limit();
    out->set_memory_limit_bytes(limit >= kUnlimited ? 0 : limit);
    out->set_cpu_usage_ns(m.cpu().usage().total());
    out->set_pids_current(m.pids().current());
    out->set_pids_limit(m.pids().limit());
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat("metrics: unknown type ", type));
}

}  // namespace berth::supervisor
