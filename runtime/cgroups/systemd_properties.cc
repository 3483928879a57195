#include "runtime/cgroups/systemd_properties.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/cgroups/render.h"

namespace berth::cgroups {
namespace {

constexpr uint64_t kDefaultCpuPeriod = 100000;

// A limit in the spec's convention: negative means unlimited.
uint64_t LimitValue(int64_t v) { return v < 0 ? kSystemdInfinity : static_cast<uint64_t>(v); }

// systemd keeps CPUQuota in whole percents (10 ms per second): round up so
// the cgroup's cpu.max is never below what was asked.
uint64_t QuotaPerSecond(int64_t quota, uint64_t period) {
  if (quota < 0) return kSystemdInfinity;
  uint64_t per_sec = static_cast<uint64_t>(quota) * 1000000 / period;
  if (static_cast<uint64_t>(quota) * 1000000 % period != 0) ++per_sec;
  if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
  return per_sec;
}

// A cgroup2 file's value ("max" or a number) for a t property.
std::optional<uint64_t> UnifiedLimit(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value == "max") return kSystemdInfinity;
  uint64_t n;
  if (absl::SimpleAtoi(value, &n)) return n;
  return std::nullopt;
}

void AddUnified(const std::map<std::string, std::string>& unified, std::vector<UnitProperty>* out) {
  static const std::map<std::string, std::string> kLimits = {
      {"memory.high", "MemoryHigh"},        {"memory.low", "MemoryLow"},
      {"memory.min", "MemoryMin"},          {"memory.max", "MemoryMax"},
      {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"},
      {"cpu.weight", "CPUWeight"}};
  for (const auto& [file, value] : unified) {
    auto it = kLimits.find(file);
    if (it == kLimits.end()) continue;
    if (std::optional<uint64_t> v = UnifiedLimit(value)) out->push_back({it->second, *v});
  }
}

// /proc/devices: "Character devices:" / "Block devices:" sections of
// "MAJOR NAME" lines.
std::map<std::pair<char, int64_t>, std::string> ParseProcDevices(absl::string_view text) {
  std::map<std::pair<char, int64_t>, std::string> out;
  char type = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "Character")) {
      type = 'c';
      continue;
    }
    if (absl::StartsWith(line, "Block")) {
      type = 'b';
      continue;
    }
    std::vector<absl::string_view> f =
        absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipEmpty());
    int64_t major;
    if (type != 0 && f.size() == 2 && absl::SimpleAtoi(f[0], &major)) {
      out[{type, major}] = std::string(f[1]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> CpuListToMask(absl::string_view list,
                                                   absl::string_view field) {
  std::vector<uint8_t> mask;
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", list, "\" is not a list of numbers and ranges (e.g. 0-3,7)"));
  };
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    std::vector<absl::string_view> range = absl::StrSplit(part, absl::MaxSplits('-', 1));
    uint32_t lo, hi;
    if (!absl::SimpleAtoi(range[0], &lo)) return bad();
    hi = lo;
    if (range.size() == 2 && !absl::SimpleAtoi(range[1], &hi)) return bad();
    if (hi < lo || hi >= 8192) return bad();
    for (uint32_t n = lo; n <= hi; ++n) {
      if (mask.size() <= n / 8) mask.resize(n / 8 + 1, 0);
      mask[n / 8] |= static_cast<uint8_t>(1u << (n % 8));
    }
  }
  return mask;
}

absl::StatusOr<std::vector<UnitProperty>> ResourceProperties(const spec::Resources& r,
                                                             bool unified) {
  std::vector<UnitProperty> out;
  if (r.memory) {
    const spec::MemoryResources& m = *r.memory;
    if (m.limit && *m.limit != 0) {
      out.push_back({unified ? "MemoryMax" : "MemoryLimit", LimitValue(*m.limit)});
    }
    if (unified && m.reservation && *m.reservation != 0) {
      out.push_back({"MemoryLow", LimitValue(*m.reservation)});
    }
    // Swap needs the memory limit beside it (memory.swap.max is swap
    // alone); an update of swap alone is completed from the cgroup files,
    // which then carry it.
    if (unified && m.swap && *m.swap != 0) {
      if (auto swap = SwapMaxV2(m.limit, *m.swap); swap.ok()) {
        if (std::optional<uint64_t> v = UnifiedLimit(*swap)) out.push_back({"MemorySwapMax", *v});
      }
    }
  }
  if (r.cpu) {
    const spec::CpuResources& c = *r.cpu;
    if (c.shares && *c.shares != 0) {
      if (unified) {
        out.push_back({"CPUWeight", SharesToWeight(*c.shares)});
      } else {
        out.push_back({"CPUShares", *c.shares});
      }
    }
    uint64_t period = c.period && *c.period != 0 ? *c.period : kDefaultCpuPeriod;
    if (c.period && *c.period != 0) out.push_back({"CPUQuotaPeriodUSec", period});
    if (c.quota && *c.quota != 0) {
      out.push_back({"CPUQuotaPerSecUSec", QuotaPerSecond(*c.quota, period)});
    }
    if (!c.cpus.empty()) {
      auto mask = CpuListToMask(c.cpus, "linux.resources.cpu.cpus");
      if (!mask.ok()) return mask.status();
      out.push_back({"AllowedCPUs", *std::move(mask)});
    }
    if (!c.mems.empty()) {
      auto mask = CpuListToMask(c.mems, "linux.resources.cpu.mems");
      if (!mask.ok()) return mask.status();
      out.push_back({"AllowedMemoryNodes", *std::move(mask)});
    }
  }
  if (r.pids && r.pids->limit != 0) out.push_back({"TasksMax", LimitValue(r.pids->limit)});
  if (r.block_io && r.block_io->weight && *r.block_io->weight != 0) {
    if (unified) {
      out.push_back({"IOWeight", BlkioWeightToIoWeight(*r.block_io->weight)});
    } else {
      out.push_back({"BlockIOWeight", uint64_t{*r.block_io->weight}});
    }
  }
  if (unified) AddUnified(r.unified, &out);
  return out;
}

std::vector<UnitProperty> DeviceProperties(const std::vector<DeviceCgroupRule>& rules,
                                           absl::string_view proc_devices) {
  const std::vector<UnitProperty> kAuto = {{"DevicePolicy", std::string("auto")}};
  auto names = ParseProcDevices(proc_devices);
  DeviceAllowList allow;
  for (const DeviceCgroupRule& rule : rules) {
    if (!rule.allow) continue;
    std::vector<char> types;
    if (rule.type == 'a') {
      if (!rule.major && !rule.minor && rule.access == "rwm") return kAuto;
      types = {'c', 'b'};
    } else {
      types = {rule.type};
    }
    for (char t : types) {
      const char* kind = t == 'c' ? "char" : "block";
      if (!rule.major) {
        allow.emplace_back(absl::StrCat(kind, "-*"), rule.access);
      } else if (rule.minor) {
        allow.emplace_back(absl::StrCat("/dev/", kind, "/", *rule.major, ":", *rule.minor),
                           rule.access);
      } else if (auto it = names.find({t, *rule.major}); it != names.end()) {
        allow.emplace_back(absl::StrCat(kind, "-", it->second), rule.access);
      } else {
        // A major the kernel has no name for cannot be listed: leave the
        // policy to berth's own rules rather than deny what they allow.
        return kAuto;
      }
    }
  }
  return {{"DevicePolicy", std::string("strict")}, {"DeviceAllow", allow}};
}

std::string RenderProperty(const UnitProperty& p) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "yes" : "no"; }
    std::string operator()(uint64_t v) const {
      return v == kSystemdInfinity ? "infinity" : absl::StrCat(v);
    }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<uint32_t>& v) const { return absl::StrJoin(v, " "); }
    std::string operator()(const std::vector<uint8_t>& mask) const {
      std::vector<uint32_t> set;
      for (size_t i = 0; i < mask.size() * 8; ++i) {
        if (mask[i / 8] & (1u << (i % 8))) set.push_back(static_cast<uint32_t>(i));
      }
      return absl::StrJoin(set, ",");
    }
    std::string operator()(const DeviceAllowList& l) const {
      return absl::StrJoin(l, " ", [](std::string* out, const auto& e) {
        absl::StrAppend(out, e.first, ":", e.second);
      });
    }
  };
  return absl::StrCat(p.name, "=", std::visit(Visitor{}, p.value));
}

}  // namespace berth::cgroups
