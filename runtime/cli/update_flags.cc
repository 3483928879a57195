#include "runtime/cli/update_flags.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth::cli {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view value, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("update: invalid value \"", value, "\" for --", flag, ": ", what));
}

template <typename T>
absl::Status ParseNumber(absl::string_view flag, const std::string& value, std::optional<T>* out) {
  if (value.empty()) return absl::OkStatus();
  T n;
  if (!absl::SimpleAtoi(value, &n)) return Invalid(flag, value, "not a number");
  *out = n;
  return absl::OkStatus();
}

absl::Status ParseMemoryFlag(absl::string_view flag, const std::string& value,
                             std::optional<int64_t>* out) {
  if (value.empty()) return absl::OkStatus();
  auto n = ParseMemorySize(value);
  if (!n.ok()) return Invalid(flag, value, n.status().message());
  *out = *n;
  return absl::OkStatus();
}

// A multiplier for k, m, g, t, p (binary, as go-units' RAMInBytes).
int64_t UnitMultiplier(char unit) {
  switch (absl::ascii_tolower(static_cast<unsigned char>(unit))) {
    case 'k':
      return int64_t{1} << 10;
    case 'm':
      return int64_t{1} << 20;
    case 'g':
      return int64_t{1} << 30;
    case 't':
      return int64_t{1} << 40;
    case 'p':
      return int64_t{1} << 50;
  }
  return 0;
}

absl::Status MemoryFlags(const UpdateFlags& f, spec::Resources* r) {
  spec::MemoryResources m;
  BERTH_RETURN_IF_ERROR(ParseMemoryFlag("memory", f.memory, &m.limit));
  BERTH_RETURN_IF_ERROR(
      ParseMemoryFlag("memory-reservation", f.memory_reservation, &m.reservation));
  BERTH_RETURN_IF_ERROR(ParseMemoryFlag("memory-swap", f.memory_swap, &m.swap));
  BERTH_RETURN_IF_ERROR(ParseMemoryFlag("kernel-memory", f.kernel_memory, &m.kernel));
  BERTH_RETURN_IF_ERROR(ParseMemoryFlag("kernel-memory-tcp", f.kernel_memory_tcp, &m.kernel_tcp));
  if (m.limit || m.reservation || m.swap || m.kernel || m.kernel_tcp) r->memory = m;
  return absl::OkStatus();
}

absl::Status CpuFlags(const UpdateFlags& f, spec::Resources* r) {
  spec::CpuResources c;
  BERTH_RETURN_IF_ERROR(ParseNumber("cpu-period", f.cpu_period, &c.period));
  BERTH_RETURN_IF_ERROR(ParseNumber("cpu-quota", f.cpu_quota, &c.quota));
  BERTH_RETURN_IF_ERROR(ParseNumber("cpu-share", f.cpu_shares, &c.shares));
  BERTH_RETURN_IF_ERROR(ParseNumber("cpu-rt-period", f.cpu_rt_period, &c.realtime_period));
  BERTH_RETURN_IF_ERROR(ParseNumber("cpu-rt-runtime", f.cpu_rt_runtime, &c.realtime_runtime));
  c.cpus = f.cpuset_cpus;
  c.mems = f.cpuset_mems;
  if (c.period || c.quota || c.shares || c.realtime_period || c.realtime_runtime ||
      !c.cpus.empty() || !c.mems.empty()) {
    r->cpu = std::move(c);
  }
  return absl::OkStatus();
}

}  // namespace

void UpdateFlags::Register(FlagSet& flags) {
  flags.String({"resources", "r"}, &resources);
  flags.String({"blkio-weight"}, &blkio_weight);
  flags.String({"cpu-period"}, &cpu_period);
  flags.String({"cpu-quota"}, &cpu_quota);
  // runc spells it --cpu-share; docker's name is accepted too.
  flags.String({"cpu-share", "cpu-shares"}, &cpu_shares);
  flags.String({"cpu-rt-period"}, &cpu_rt_period);
  flags.String({"cpu-rt-runtime"}, &cpu_rt_runtime);
  flags.String({"cpuset-cpus"}, &cpuset_cpus);
  flags.String({"cpuset-mems"}, &cpuset_mems);
  flags.String({"kernel-memory"}, &kernel_memory);
  flags.String({"kernel-memory-tcp"}, &kernel_memory_tcp);
  flags.String({"memory"}, &memory);
  flags.String({"memory-reservation"}, &memory_reservation);
  flags.String({"memory-swap"}, &memory_swap);
  flags.String({"pids-limit"}, &pids_limit);
  flags.String({"l3-cache-schema"}, &l3_cache_schema);
  flags.String({"mem-bw-schema"}, &mem_bw_schema);
}

bool UpdateFlags::AnyResourceFlag() const {
  for (const std::string* v :
       {&blkio_weight, &cpu_period, &cpu_quota, &cpu_shares, &cpu_rt_period, &cpu_rt_runtime,
        &cpuset_cpus, &cpuset_mems, &kernel_memory, &kernel_memory_tcp, &memory,
        &memory_reservation, &memory_swap, &pids_limit, &l3_cache_schema, &mem_bw_schema}) {
    if (!v->empty()) return true;
  }
  return false;
}

absl::StatusOr<int64_t> ParseMemorySize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text == "-1") return -1;
  size_t end = 0;
  while (end < text.size() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
    ++end;
  }
  double number;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), &number)) {
    return absl::InvalidArgumentError("must be a size such as 512, 100k, 64M or 1.5g, or -1");
  }
  absl::string_view unit = text.substr(end);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int64_t multiplier = 1;
  if (!unit.empty() && UnitMultiplier(unit.front()) != 0) {
    multiplier = UnitMultiplier(unit.front());
    unit.remove_prefix(1);
    if (!unit.empty() && (unit.front() == 'i' || unit.front() == 'I')) unit.remove_prefix(1);
  }
  if (!unit.empty() && (unit.front() == 'b' || unit.front() == 'B')) unit.remove_prefix(1);
  if (!unit.empty()) {
    return absl::InvalidArgumentError("must be a size such as 512, 100k, 64M or 1.5g, or -1");
  }
  double bytes = number * static_cast<double>(multiplier);
  if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError("is too large");
  }
  return static_cast<int64_t>(bytes);
}

absl::StatusOr<spec::Resources> ResourcesFromFlags(const UpdateFlags& f) {
  if (!f.l3_cache_schema.empty() || !f.mem_bw_schema.empty()) {
    return absl::UnimplementedError(
        "update: --l3-cache-schema and --mem-bw-schema (Intel RDT) are not supported");
  }
  spec::Resources r;
  BERTH_RETURN_IF_ERROR(MemoryFlags(f, &r));
  BERTH_RETURN_IF_ERROR(CpuFlags(f, &r));
  std::optional<int64_t> pids;
  BERTH_RETURN_IF_ERROR(ParseNumber("pids-limit", f.pids_limit, &pids));
  if (pids) r.pids = spec::PidsResources{*pids};
  std::optional<uint32_t> weight;
  BERTH_RETURN_IF_ERROR(ParseNumber("blkio-weight", f.blkio_weight, &weight));
  if (weight && *weight != 0 && (*weight < 10 || *weight > 1000)) {
    return Invalid("blkio-weight", f.blkio_weight, "must be between 10 and 1000");
  }
  if (weight) {
    r.block_io.emplace();
    r.block_io->weight = static_cast<uint16_t>(*weight);
  }
  return r;
}

}  // namespace berth::cli
