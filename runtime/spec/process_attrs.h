// Process and kernel attributes of config.md/config-linux.md that are not
// about namespaces or mounts: scheduler, I/O priority, personality, time
// namespace offsets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/json_tree.h"

namespace berth::spec {

struct Scheduler {
  std::string policy;  // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE
  int32_t nice = 0;
  int32_t priority = 0;
  std::vector<std::string> flags;  // SCHED_FLAG_*
  uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IoPriority {
  std::string io_class;  // IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE
  int32_t priority = 0;  // 0..7
};

struct Personality {
  std::string domain;  // LINUX or LINUX32
  std::vector<std::string> flags;
};

// linux.memoryPolicy (runtime-spec 1.3): set_mempolicy(2) for the process.
struct MemoryPolicy {
  std::string mode;                     // MPOL_DEFAULT, MPOL_BIND, ...
  int mode_value = 0;                   // the kernel's number, flags or'ed in
  std::vector<unsigned long> nodemask;  // bit n: node n
  unsigned long maxnode = 0;            // bits in nodemask that count
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

absl::StatusOr<Scheduler> ParseScheduler(const json::Value& v);
absl::StatusOr<IoPriority> ParseIoPriority(const json::Value& v);
absl::StatusOr<Personality> ParsePersonality(const json::Value& v);
// mode, nodes ("0-3,7") and flags checked: modes that need nodes have
// some, MPOL_DEFAULT and MPOL_LOCAL have none.
absl::StatusOr<MemoryPolicy> ParseMemoryPolicy(const json::Value& v);
// linux.timeOffsets: "monotonic" and "boottime" only.
absl::StatusOr<std::map<std::string, TimeOffset>> ParseTimeOffsets(const json::Value& v);

}  // namespace berth::spec
