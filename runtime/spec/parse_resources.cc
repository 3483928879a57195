#include "runtime/spec/parse_resources.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "runtime/spec/json_read.h"

namespace berth::spec {
namespace {

using json::Value;

// ---- devices ----

absl::Status ParseDeviceType(const Value& v, char* out) {
  std::string type;
  BERTH_RETURN_IF_ERROR(ReadString(v, &type));
  if (type.empty()) return absl::OkStatus();  // unset means all devices ('a')
  if (type != "a" && type != "c" && type != "b") return v.Error("must be one of a, c, b");
  *out = type[0];
  return absl::OkStatus();
}

absl::Status ParseAccess(const Value& v, std::string* out) {
  std::string access;
  BERTH_RETURN_IF_ERROR(ReadString(v, &access));
  if (access.empty()) return absl::OkStatus();  // keep the default "rwm"
  bool valid = std::all_of(access.begin(), access.end(),
                           [](char c) { return c == 'r' || c == 'w' || c == 'm'; });
  if (!valid) return v.Error("must be a combination of r, w and m");
  *out = std::move(access);
  return absl::OkStatus();
}

absl::StatusOr<DeviceRule> ParseDeviceRule(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  DeviceRule r;
  BERTH_ASSIGN_OR_RETURN(r.allow, RequiredBool(v.Get("allow")));
  BERTH_RETURN_IF_ERROR(ParseDeviceType(v.Get("type"), &r.type));
  BERTH_RETURN_IF_ERROR(ReadInt64(v.Get("major"), &r.major));
  BERTH_RETURN_IF_ERROR(ReadInt64(v.Get("minor"), &r.minor));
  // -1 is how some callers spell "any" (runc's wildcard).
  if (r.major == -1) r.major.reset();
  if (r.minor == -1) r.minor.reset();
  BERTH_RETURN_IF_ERROR(ParseAccess(v.Get("access"), &r.access));
  return r;
}

// ---- memory, cpu, pids ----

absl::Status ParseMemory(const Value& v, std::optional<MemoryResources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  MemoryResources m;
  // Bytes, or -1 for unlimited: anything below is a mistake (v2 would
  // read it as "max", v1's kernel refuse it).
  const std::pair<const char*, std::optional<int64_t>*> bytes[] = {{"limit", &m.limit},
                                                                   {"reservation", &m.reservation},
                                                                   {"swap", &m.swap},
                                                                   {"kernel", &m.kernel},
                                                                   {"kernelTCP", &m.kernel_tcp}};
  for (const auto& [name, field] : bytes) {
    Value f = v.Get(name);
    BERTH_RETURN_IF_ERROR(ReadInt64(f, field));
    if (*field && **field < -1) return f.Error("must be a number of bytes, or -1 for unlimited");
  }
  Value swappiness = v.Get("swappiness");
  BERTH_RETURN_IF_ERROR(ReadUint64(swappiness, &m.swappiness));
  // Docker spells "unset" as -1 converted to uint64.
  if (m.swappiness == std::numeric_limits<uint64_t>::max()) m.swappiness.reset();
  if (m.swappiness && *m.swappiness > 100) return swappiness.Error("must be between 0 and 100");
  BERTH_RETURN_IF_ERROR(ReadBool(v.Get("disableOOMKiller"), &m.disable_oom_killer));
  BERTH_RETURN_IF_ERROR(ReadBool(v.Get("useHierarchy"), &m.use_hierarchy));
  BERTH_RETURN_IF_ERROR(ReadBool(v.Get("checkBeforeUpdate"), &m.check_before_update));
  *out = m;
  return absl::OkStatus();
}

absl::Status ParseCpu(const Value& v, std::optional<CpuResources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  CpuResources c;
  BERTH_RETURN_IF_ERROR(ReadUint64(v.Get("shares"), &c.shares));
  BERTH_RETURN_IF_ERROR(ReadInt64(v.Get("quota"), &c.quota));
  BERTH_RETURN_IF_ERROR(ReadUint64(v.Get("burst"), &c.burst));
  BERTH_RETURN_IF_ERROR(ReadUint64(v.Get("period"), &c.period));
  BERTH_RETURN_IF_ERROR(ReadInt64(v.Get("realtimeRuntime"), &c.realtime_runtime));
  BERTH_RETURN_IF_ERROR(ReadUint64(v.Get("realtimePeriod"), &c.realtime_period));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("cpus"), &c.cpus));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("mems"), &c.mems));
  Value idle = v.Get("idle");
  BERTH_RETURN_IF_ERROR(ReadInt64(idle, &c.idle));
  if (c.idle && *c.idle != 0 && *c.idle != 1) return idle.Error("must be 0 or 1");
  *out = std::move(c);
  return absl::OkStatus();
}

absl::Status ParsePids(const Value& v, std::optional<PidsResources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  PidsResources p;
  BERTH_ASSIGN_OR_RETURN(p.limit, RequiredInt64(v.Get("limit")));
  *out = p;
  return absl::OkStatus();
}

// ---- blockIO ----

absl::Status ParseDeviceNumbers(const Value& v, int64_t* major, int64_t* minor) {
  for (auto [key, out] : {std::pair{"major", major}, std::pair{"minor", minor}}) {
    Value n = v.Get(key);
    BERTH_ASSIGN_OR_RETURN(*out, RequiredInt64(n));
    if (*out < 0) return n.Error("must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ParseBlkioWeight(const Value& v, std::optional<uint16_t>* out) {
  BERTH_RETURN_IF_ERROR(ReadUint16(v, out));
  // 0 means "leave as is" (runc); the kernel accepts 10 to 1000.
  if (*out && **out != 0 && (**out < 10 || **out > 1000)) {
    return v.Error("must be between 10 and 1000");
  }
  return absl::OkStatus();
}

absl::Status ParseWeightDevices(const Value& v, std::vector<WeightDevice>* out) {
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_RETURN_IF_ERROR(ExpectObject(e));
    WeightDevice d;
    BERTH_RETURN_IF_ERROR(ParseDeviceNumbers(e, &d.major, &d.minor));
    BERTH_RETURN_IF_ERROR(ParseBlkioWeight(e.Get("weight"), &d.weight));
    BERTH_RETURN_IF_ERROR(ParseBlkioWeight(e.Get("leafWeight"), &d.leaf_weight));
    out->push_back(d);
    return absl::OkStatus();
  });
}

absl::Status ParseThrottleDevices(const Value& v, std::vector<ThrottleDevice>* out) {
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_RETURN_IF_ERROR(ExpectObject(e));
    ThrottleDevice d;
    BERTH_RETURN_IF_ERROR(ParseDeviceNumbers(e, &d.major, &d.minor));
    BERTH_ASSIGN_OR_RETURN(d.rate, RequiredUint64(e.Get("rate")));
    out->push_back(d);
    return absl::OkStatus();
  });
}

absl::Status ParseBlockIo(const Value& v, std::optional<BlockIoResources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  BlockIoResources b;
  BERTH_RETURN_IF_ERROR(ParseBlkioWeight(v.Get("weight"), &b.weight));
  BERTH_RETURN_IF_ERROR(ParseBlkioWeight(v.Get("leafWeight"), &b.leaf_weight));
  BERTH_RETURN_IF_ERROR(ParseWeightDevices(v.Get("weightDevice"), &b.weight_device));
  const std::pair<const char*, std::vector<ThrottleDevice>*> throttles[] = {
      {"throttleReadBpsDevice", &b.throttle_read_bps_device},
      {"throttleWriteBpsDevice", &b.throttle_write_bps_device},
      {"throttleReadIOPSDevice", &b.throttle_read_iops_device},
      {"throttleWriteIOPSDevice", &b.throttle_write_iops_device},
  };
  for (const auto& [key, list] : throttles) {
    BERTH_RETURN_IF_ERROR(ParseThrottleDevices(v.Get(key), list));
  }
  *out = std::move(b);
  return absl::OkStatus();
}

// ---- hugepages, network, rdma, unified ----

// "<digits><K|M|G|T|P>B", as the hugetlb file names spell page sizes.
bool IsPageSize(absl::string_view s) {
  if (s.size() < 3 || !absl::EndsWith(s, "B")) return false;
  char unit = s[s.size() - 2];
  absl::string_view digits = s.substr(0, s.size() - 2);
  return absl::StrContains("KMGTP", unit) && !digits.empty() &&
         std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit);
}

absl::Status ParseHugepageLimits(const Value& v, std::vector<HugepageLimit>* out) {
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_RETURN_IF_ERROR(ExpectObject(e));
    HugepageLimit h;
    Value size = e.Get("pageSize");
    BERTH_ASSIGN_OR_RETURN(h.page_size, RequiredString(size));
    if (!IsPageSize(h.page_size)) {
      return size.Error(absl::StrCat("must be a size like 2MB or 1GB, got \"", h.page_size, "\""));
    }
    BERTH_ASSIGN_OR_RETURN(h.limit, RequiredUint64(e.Get("limit")));
    out->push_back(std::move(h));
    return absl::OkStatus();
  });
}

absl::Status ParseNetwork(const Value& v, std::optional<NetworkResources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  NetworkResources n;
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("classID"), &n.class_id));
  BERTH_RETURN_IF_ERROR(ForEachElement(v.Get("priorities"), [&](const Value& e) -> absl::Status {
    BERTH_RETURN_IF_ERROR(ExpectObject(e));
    InterfacePriority p;
    BERTH_ASSIGN_OR_RETURN(p.name, RequiredString(e.Get("name")));
    BERTH_ASSIGN_OR_RETURN(p.priority, RequiredUint32(e.Get("priority")));
    n.priorities.push_back(std::move(p));
    return absl::OkStatus();
  }));
  *out = std::move(n);
  return absl::OkStatus();
}

absl::Status ParseRdma(const Value& v, std::map<std::string, RdmaLimit>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  for (const auto& [device, limits] : v.Members()) {
    BERTH_RETURN_IF_ERROR(ExpectObject(limits));
    RdmaLimit r;
    BERTH_RETURN_IF_ERROR(ReadUint32(limits.Get("hcaHandles"), &r.hca_handles));
    BERTH_RETURN_IF_ERROR(ReadUint32(limits.Get("hcaObjects"), &r.hca_objects));
    (*out)[device] = r;
  }
  return absl::OkStatus();
}

// Keys are cgroup2 file names ("memory.high"): never a path.
absl::Status ParseUnified(const Value& v, std::map<std::string, std::string>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  for (const auto& [key, value] : v.Members()) {
    if (key.empty() || absl::StrContains(key, '/') || key == "." || key == "..") {
      return value.Error("key must be a cgroup file name such as memory.high");
    }
    BERTH_ASSIGN_OR_RETURN((*out)[key], value.AsString());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseResources(const Value& v, std::optional<Resources>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Resources r;
  BERTH_RETURN_IF_ERROR(ForEachElement(v.Get("devices"), [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(DeviceRule rule, ParseDeviceRule(e));
    r.devices.push_back(std::move(rule));
    return absl::OkStatus();
  }));
  BERTH_RETURN_IF_ERROR(ParseMemory(v.Get("memory"), &r.memory));
  BERTH_RETURN_IF_ERROR(ParseCpu(v.Get("cpu"), &r.cpu));
  BERTH_RETURN_IF_ERROR(ParsePids(v.Get("pids"), &r.pids));
  BERTH_RETURN_IF_ERROR(ParseBlockIo(v.Get("blockIO"), &r.block_io));
  BERTH_RETURN_IF_ERROR(ParseHugepageLimits(v.Get("hugepageLimits"), &r.hugepage_limits));
  BERTH_RETURN_IF_ERROR(ParseNetwork(v.Get("network"), &r.network));
  BERTH_RETURN_IF_ERROR(ParseRdma(v.Get("rdma"), &r.rdma));
  BERTH_RETURN_IF_ERROR(ParseUnified(v.Get("unified"), &r.unified));
  *out = std::move(r);
  return absl::OkStatus();
}

absl::StatusOr<Resources> ParseResourcesDocument(std::string_view json, std::string_view name) {
  absl::string_view text(json.data(), json.size());
  absl::string_view label(name.data(), name.size());
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<json::Document> doc, json::Document::Parse(text, label));
  std::optional<Resources> r;
  absl::Status st = ParseResources(doc->root(), &r);
  if (!st.ok()) return Annotate(st, label);
  return r ? std::move(*r) : Resources{};
}

}  // namespace berth::spec
