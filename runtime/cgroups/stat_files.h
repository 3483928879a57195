// Parsers for the text formats of cgroup statistics files (pure).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/cgroups/stats.h"

namespace berth::cgroups {

// "key value" per line (memory.stat, cpu.stat, cpuacct.stat, memory.events).
std::map<std::string, uint64_t> ParseFlatKeyed(absl::string_view text);

// Whitespace-separated numbers (cpuacct.usage_percpu).
std::vector<uint64_t> ParseNumberList(absl::string_view text);

// A cpu or memory-node list: "0-3,8,10-11".
std::vector<uint64_t> ParseRangeList(absl::string_view text);

// One number; "max" (a limit that is not set) gives `max_value`.
std::optional<uint64_t> ParseLimit(absl::string_view text, uint64_t max_value);

// blkio.*_recursive: "MAJ:MIN Op VALUE" lines; the "Total" line is skipped.
std::vector<BlkioEntry> ParseBlkioFile(absl::string_view text);

// cgroup2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...".
BlkioStats ParseIoStat(absl::string_view text);

}  // namespace berth::cgroups
