// `berth update`'s runc-compatible flags → the resources to write.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cli/flags.h"
#include "runtime/spec/resources.h"

namespace berth::cli {

// Every value flag as given (empty: not given), so "0" and absent differ.
struct UpdateFlags {
  std::string resources;  // FILE, or "-" for standard input
  std::string blkio_weight, cpu_period, cpu_quota, cpu_shares, cpu_rt_period, cpu_rt_runtime,
      cpuset_cpus, cpuset_mems, kernel_memory, kernel_memory_tcp, memory, memory_reservation,
      memory_swap, pids_limit, l3_cache_schema, mem_bw_schema;

  void Register(FlagSet& flags);
  bool AnyResourceFlag() const;
};

// The resources the flags ask for; errors name the flag.
absl::StatusOr<spec::Resources> ResourcesFromFlags(const UpdateFlags& f);

// A memory size as runc (docker/go-units RAMInBytes) reads it: "-1" for
// unlimited, or a number with an optional binary unit: 512, 100k, 100M,
// 1.5g, 2GiB, "64 MB".
absl::StatusOr<int64_t> ParseMemorySize(absl::string_view text);

}  // namespace berth::cli
