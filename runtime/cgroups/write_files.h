// Executes rendered FileWrites (render.h) against the container's cgroup
// directories; errors name the config field, the file and the value.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/cgroups/render.h"

namespace berth::cgroups {

// Maps a write's controller to the directory holding it; nullptr when that
// controller is not mounted.
using DirForController = std::function<const std::string*(const std::string& controller)>;

absl::Status ExecuteWrites(const std::vector<FileWrite>& writes, const DirForController& dir_for);

// Writes `value` to the existing file `path` (WriteExisting, lib/file_util.h).
using FileWriter = std::function<absl::Status(const std::string& path, absl::string_view value)>;

// The same, each write made by `write`: unit tests stand in for the kernel's
// refusals (EINVAL) that plain files on a temporary directory cannot give.
absl::Status ExecuteWrites(const std::vector<FileWrite>& writes, const DirForController& dir_for,
                           const FileWriter& write);

// Reads the whole file `path` (ReadFile, lib/file_util.h).
using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// For `update`: the same, and when a write fails, the files written so far
// get back what they held before (best effort, last first), so a refused
// update leaves the old limits in force rather than half of the new ones.
absl::Status ExecuteWritesOrRestore(const std::vector<FileWrite>& writes,
                                    const DirForController& dir_for);
absl::Status ExecuteWritesOrRestore(const std::vector<FileWrite>& writes,
                                    const DirForController& dir_for, const FileWriter& write,
                                    const FileReader& read);

// Whether `dir`/`file` exists.
bool CgroupFileExists(const std::string& dir, const std::string& file);

// Device rules need privileges a rootless runtime lacks; like runc, it then
// runs without them (with a warning) instead of failing.
absl::Status ToleratedWhenRootless(const absl::Status& st);

// memory.checkBeforeUpdate: refuses a memory limit below the usage that
// `dir`/`usage_file` reports (memory.usage_in_bytes, memory.current).
absl::Status CheckMemoryBeforeUpdate(const spec::Resources& r, const std::string& dir,
                                     const std::string& usage_file);

}  // namespace berth::cgroups
