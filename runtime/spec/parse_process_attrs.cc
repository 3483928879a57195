#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "runtime/spec/process_attrs.h"

namespace berth::spec {
namespace {

bool OneOf(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options) {
    if (s == o) return true;
  }
  return false;
}

template <typename T>
absl::Status Optional(const json::Value& v, absl::StatusOr<T> (json::Value::*read)() const,
                      T* out) {
  if (v.missing() || v.is_null()) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(*out, (v.*read)());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Scheduler> ParseScheduler(const json::Value& v) {
  if (!v.is_object()) return v.Error("must be an object");
  Scheduler s;
  json::Value policy = v.Get("policy");
  BERTH_ASSIGN_OR_RETURN(s.policy, policy.AsString());
  if (!OneOf(s.policy, {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                        "SCHED_IDLE", "SCHED_DEADLINE"})) {
    return policy.Error(absl::StrCat("unknown policy \"", s.policy, "\""));
  }
  BERTH_RETURN_IF_ERROR(Optional(v.Get("nice"), &json::Value::AsInt32, &s.nice));
  BERTH_RETURN_IF_ERROR(Optional(v.Get("priority"), &json::Value::AsInt32, &s.priority));
  BERTH_RETURN_IF_ERROR(Optional(v.Get("runtime"), &json::Value::AsUint64, &s.runtime));
  BERTH_RETURN_IF_ERROR(Optional(v.Get("deadline"), &json::Value::AsUint64, &s.deadline));
  BERTH_RETURN_IF_ERROR(Optional(v.Get("period"), &json::Value::AsUint64, &s.period));
  json::Value flags = v.Get("flags");
  if (!flags.missing() && !flags.is_null()) {
    BERTH_ASSIGN_OR_RETURN(s.flags, flags.AsStringArray());
    for (size_t i = 0; i < s.flags.size(); ++i) {
      if (!OneOf(s.flags[i],
                 {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
                  "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
                  "SCHED_FLAG_UTIL_CLAMP_MAX"})) {
        return flags.Elements()[i].Error(absl::StrCat("unknown flag \"", s.flags[i], "\""));
      }
    }
  }
  if (s.nice < -20 || s.nice > 19) return v.Get("nice").Error("must be between -20 and 19");
  return s;
}

absl::StatusOr<IoPriority> ParseIoPriority(const json::Value& v) {
  if (!v.is_object()) return v.Error("must be an object");
  IoPriority p;
  json::Value cls = v.Get("class");
  BERTH_ASSIGN_OR_RETURN(p.io_class, cls.AsString());
  if (!OneOf(p.io_class, {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"})) {
    return cls.Error(absl::StrCat("unknown class \"", p.io_class, "\""));
  }
  BERTH_RETURN_IF_ERROR(Optional(v.Get("priority"), &json::Value::AsInt32, &p.priority));
  if (p.priority < 0 || p.priority > 7) return v.Get("priority").Error("must be between 0 and 7");
  return p;
}

absl::StatusOr<Personality> ParsePersonality(const json::Value& v) {
  if (!v.is_object()) return v.Error("must be an object");
  Personality p;
  json::Value domain = v.Get("domain");
  BERTH_ASSIGN_OR_RETURN(p.domain, domain.AsString());
  if (!OneOf(p.domain, {"LINUX", "LINUX32"})) {
    return domain.Error(absl::StrCat("unknown domain \"", p.domain, "\" (LINUX or LINUX32)"));
  }
  json::Value flags = v.Get("flags");
  if (!flags.missing() && !flags.is_null()) {
    BERTH_ASSIGN_OR_RETURN(p.flags, flags.AsStringArray());
    if (!p.flags.empty()) return flags.Error("no personality flags are supported yet");
  }
  return p;
}

absl::StatusOr<MemoryPolicy> ParseMemoryPolicy(const json::Value& v) {
  if (!v.is_object()) return v.Error("must be an object");
  // The kernel's values (linux/mempolicy.h).
  static const std::pair<const char*, int> kModes[] = {{"MPOL_DEFAULT", 0},
                                                       {"MPOL_PREFERRED", 1},
                                                       {"MPOL_BIND", 2},
                                                       {"MPOL_INTERLEAVE", 3},
                                                       {"MPOL_LOCAL", 4},
                                                       {"MPOL_PREFERRED_MANY", 5},
                                                       {"MPOL_WEIGHTED_INTERLEAVE", 6}};
  static const std::pair<const char*, int> kFlags[] = {{"MPOL_F_NUMA_BALANCING", 1 << 13},
                                                       {"MPOL_F_RELATIVE_NODES", 1 << 14},
                                                       {"MPOL_F_STATIC_NODES", 1 << 15}};
  MemoryPolicy m;
  json::Value mode = v.Get("mode");
  if (mode.missing()) return mode.Error("is required");
  BERTH_ASSIGN_OR_RETURN(m.mode, mode.AsString());
  bool known = false;
  for (const auto& [name, value] : kModes) {
    if (m.mode == name) {
      m.mode_value = value;
      known = true;
    }
  }
  if (!known) return mode.Error(absl::StrCat("unknown mode \"", m.mode, "\""));
  json::Value nodes = v.Get("nodes");
  std::string text;
  if (!nodes.missing() && !nodes.is_null()) {
    BERTH_ASSIGN_OR_RETURN(text, nodes.AsString());
  }
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> range = absl::StrSplit(part, absl::MaxSplits('-', 1));
    uint32_t lo = 0, hi = 0;
    if (!absl::SimpleAtoi(range[0], &lo) ||
        !absl::SimpleAtoi(range.size() == 2 ? range[1] : range[0], &hi) || hi < lo || hi >= 4096) {
      return nodes.Error(absl::StrCat("\"", text,
                                      "\" is not a list of node numbers and ranges "
                                      "below 4096 (\"0-3,7\")"));
    }
    for (uint32_t n = lo; n <= hi; ++n) {
      size_t word = n / (8 * sizeof(unsigned long));
      if (m.nodemask.size() <= word) m.nodemask.resize(word + 1, 0);
      m.nodemask[word] |= 1UL << (n % (8 * sizeof(unsigned long)));
      m.maxnode = std::max<unsigned long>(m.maxnode, n + 2);
    }
  }
  bool needs_nodes = m.mode == "MPOL_BIND" || m.mode == "MPOL_INTERLEAVE" ||
                     m.mode == "MPOL_WEIGHTED_INTERLEAVE" || m.mode == "MPOL_PREFERRED_MANY";
  bool takes_nodes = needs_nodes || m.mode == "MPOL_PREFERRED";
  if (needs_nodes && m.nodemask.empty()) {
    return nodes.Error(absl::StrCat("is required with mode ", m.mode));
  }
  if (!takes_nodes && !m.nodemask.empty()) {
    return nodes.Error(absl::StrCat("must be empty with mode ", m.mode));
  }
  json::Value flags = v.Get("flags");
  if (!flags.missing() && !flags.is_null()) {
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> names, flags.AsStringArray());
    for (const std::string& f : names) {
      bool found = false;
      for (const auto& [name, value] : kFlags) {
        if (f == name) {
          m.mode_value |= value;
          found = true;
        }
      }
      if (!found) return flags.Error(absl::StrCat("unknown flag \"", f, "\""));
    }
  }
  return m;
}

absl::StatusOr<std::map<std::string, TimeOffset>> ParseTimeOffsets(const json::Value& v) {
  if (!v.is_object()) return v.Error("must be an object");
  std::map<std::string, TimeOffset> out;
  for (const auto& [clock, value] : v.Members()) {
    if (clock != "monotonic" && clock != "boottime") {
      return value.Error("unknown clock (monotonic or boottime)");
    }
    TimeOffset o;
    BERTH_RETURN_IF_ERROR(Optional(value.Get("secs"), &json::Value::AsInt64, &o.secs));
    BERTH_RETURN_IF_ERROR(Optional(value.Get("nanosecs"), &json::Value::AsUint32, &o.nanosecs));
    if (o.nanosecs >= 1000000000) return value.Get("nanosecs").Error("must be below 1000000000");
    out[clock] = o;
  }
  return out;
}

}  // namespace berth::spec
