#include "runtime/cgroups/write_files.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "runtime/cgroups/stat_files.h"

namespace berth::cgroups {
namespace {

absl::Status ExecuteOne(const FileWrite& w, const DirForController& dir_for,
                        const FileWriter& write) {
  const std::string* dir = dir_for(w.controller);
  if (dir == nullptr) {
    if (w.optional) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        w.field, ": the ", w.controller, " cgroup controller is not mounted on this host"));
  }
  for (const FileValue& c : w.candidates) {
    // Straight to the write: a missing file is the same ENOENT, one syscall less.
    absl::Status st = write(absl::StrCat(*dir, "/", c.file), c.value);
    if (absl::IsNotFound(st)) continue;
    return Annotate(st, w.field);
  }
  if (w.optional || w.candidates.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(w.field, ": ", *dir, "/", w.candidates.front().file,
                   " does not exist (the kernel or its cgroup controller does not support it)"));
}

}  // namespace

bool CgroupFileExists(const std::string& dir, const std::string& file) {
  return ::access(absl::StrCat(dir, "/", file).c_str(), F_OK) == 0;
}

absl::Status ToleratedWhenRootless(const absl::Status& st) {
  if (st.ok() || ::geteuid() == 0 || !absl::IsPermissionDenied(st)) return st;
  log::Warn(absl::StrCat(st.message(), " (rootless: running without device rules)"));
  return absl::OkStatus();
}

absl::Status CheckMemoryBeforeUpdate(const spec::Resources& r, const std::string& dir,
                                     const std::string& usage_file) {
  if (!r.memory || !r.memory->check_before_update.value_or(false) || !r.memory->limit ||
      *r.memory->limit <= 0) {
    return absl::OkStatus();
  }
  auto text = ReadFile(absl::StrCat(dir, "/", usage_file));
  uint64_t usage = text.ok() ? ParseLimit(*text, 0).value_or(0) : 0;
  if (usage <= static_cast<uint64_t>(*r.memory->limit)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("linux.resources.memory.limit: rejecting memory limit ", *r.memory->limit,
                   " below the current usage ", usage, " (checkBeforeUpdate)"));
}

absl::Status ExecuteWrites(const std::vector<FileWrite>& writes, const DirForController& dir_for) {
  return ExecuteWrites(writes, dir_for, WriteExisting);
}

absl::Status ExecuteWrites(const std::vector<FileWrite>& writes, const DirForController& dir_for,
                           const FileWriter& write) {
  for (size_t i = 0; i < writes.size(); ++i) {
    absl::Status st = ExecuteOne(writes[i], dir_for, write);
    if (absl::IsInvalidArgument(st) && writes[i].retry_after_next && i + 1 < writes.size()) {
      BERTH_RETURN_IF_ERROR(ExecuteOne(writes[i + 1], dir_for, write));
      st = ExecuteOne(writes[i], dir_for, write);
      ++i;
    }
    BERTH_RETURN_IF_ERROR(st);
  }
  return absl::OkStatus();
}

}  // namespace berth::cgroups
