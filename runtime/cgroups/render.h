// linux.resources → the cgroup files to write and the values to write, for
// v1 and for cgroup2. Pure (no syscalls), so every conversion is unit-tested;
// the back ends only execute the list in order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec/resources.h"

namespace berth::cgroups {

// One cgroup file and the value for it.
struct FileValue {
  std::string file;
  std::string value;
  bool operator==(const FileValue&) const = default;
};

struct FileWrite {
  // v1: the controller whose hierarchy holds the file ("memory", "cpu");
  // cgroup2: empty (the container's one directory).
  std::string controller;
  // Candidates; the first whose file exists is written (blkio.weight on
  // CFQ, else blkio.bfq.weight; io.bfq.weight, else io.weight converted).
  std::vector<FileValue> candidates;
  std::string field;      // the config field, for errors: linux.resources.memory.limit
  bool optional = false;  // silently skipped when no candidate file exists
  // A period written before its quota/runtime can be refused (EINVAL) while
  // the old quota over the new period exceeds what the parent allows: then
  // the next write goes first and this one is retried (runc does the same).
  bool retry_after_next = false;
};

// What the v1 renderer needs to know about the live cgroup.
struct V1Context {
  // memory.limit_in_bytes now: memory and memsw limits must be written in the
  // order that keeps limit <= memsw at every step.
  std::optional<uint64_t> current_memory_limit;
  bool has_memsw = true;  // memory.memsw.limit_in_bytes exists
  // Since Linux 5.11 memory cgroups are always hierarchical and the kernel
  // refuses memory.use_hierarchy = 0: useHierarchy false is then not written.
  bool hierarchy_always_on = false;
};

absl::StatusOr<std::vector<FileWrite>> RenderV1(const spec::Resources& r, const V1Context& ctx);
absl::StatusOr<std::vector<FileWrite>> RenderV2(const spec::Resources& r);

// What `update` finds in a cgroup2 directory: the other half of the pairs
// an update may give one half of. Empty: the file could not be read.
struct V2Current {
  std::string cpu_max;          // "QUOTA PERIOD", "max PERIOD"
  std::string memory_max;       // bytes or "max"
  std::string memory_swap_max;  // bytes or "max"
};

// An update completed with the current values, as runc's update does
// (which starts from the container's limits): --cpu-period alone keeps the
// quota; --memory-swap alone is memory+swap over the current memory.max;
// --memory alone keeps memory+swap where swap is limited (memory.swap.max
// moves by the difference). Errors name the flag's config field.
absl::StatusOr<spec::Resources> CompleteUpdateV2(spec::Resources r, const V2Current& now);

// cpu.shares (2..262144) → cpu.weight (1..10000), the mapping current runc
// and crun use (1024 → 100).
uint64_t SharesToWeight(uint64_t shares);
// blkio.weight (10..1000) → io.weight (1..10000).
uint64_t BlkioWeightToIoWeight(uint64_t weight);
// cpu.max "QUOTA PERIOD": "max" for no quota; the period is left out when 0.
std::string CpuMax(std::optional<int64_t> quota, std::optional<uint64_t> period);
// OCI memory.swap (memory + swap) → memory.swap.max (swap alone).
absl::StatusOr<std::string> SwapMaxV2(std::optional<int64_t> limit, int64_t swap);
// rdma.max lines (same syntax in v1 and cgroup2), with their config fields.
std::vector<std::pair<std::string, std::string>> RenderRdma(
    const std::map<std::string, spec::RdmaLimit>& rdma);

}  // namespace berth::cgroups
