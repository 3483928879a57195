// Facts about processes read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace berth::proc {

struct StatInfo {
  char state = '?';         // field 3: R, S, D, Z, X, ...
  uint64_t start_time = 0;  // field 22: clock ticks since boot
};

// Reads /proc/PID/stat; nullopt if the process is gone.
std::optional<StatInfo> ReadStat(pid_t pid);

// True if `pid` exists, is not a zombie/dead, and started at `start_time`:
// guards against a reused pid being taken for the container's init.
bool IsSameLiveProcess(pid_t pid, uint64_t start_time);

// A pid file as runtimes write them (decimal, trailing whitespace allowed).
absl::StatusOr<pid_t> ReadPidFile(const std::string& path);

// The path of the running executable (/proc/self/exe).
absl::StatusOr<std::string> SelfExe();

}  // namespace berth::proc
