#include "runtime/cgroups/write_files.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

absl::Status ExecuteWritesOrRestore(const std::vector<FileWrite>& writes,
                                    const DirForController& dir_for) {
  return ExecuteWritesOrRestore(writes, dir_for, WriteExisting, ReadFile);
}

absl::Status ExecuteWritesOrRestore(const std::vector<FileWrite>& writes,
                                    const DirForController& dir_for, const FileWriter& write,
                                    const FileReader& read) {
  // What each file holds now, in the order of first writes.
  std::vector<std::pair<std::string, std::string>> before;
  for (const FileWrite& w : writes) {
    const std::string* dir = dir_for(w.controller);
    if (dir == nullptr) continue;
    for (const FileValue& c : w.candidates) {
      std::string path = absl::StrCat(*dir, "/", c.file);
      auto text = read(path);
      if (!text.ok()) continue;  // absent: the next candidate is the one written
      bool seen = false;
      for (const auto& b : before) seen = seen || b.first == path;
      if (!seen) before.emplace_back(path, *text);
      break;
    }
  }
  absl::Status st = ExecuteWrites(writes, dir_for, write);
  if (st.ok()) return st;
  // Last first; a value refused because of its pair (v1's memory and
  // memory+swap, cpu period and quota) gets a second round.
  std::vector<std::pair<std::string, std::string>> again;
  for (auto it = before.rbegin(); it != before.rend(); ++it) {
    // Keyed files (io.max: one line per device) take one line per write.
    for (absl::string_view line : absl::StrSplit(it->second, '\n', absl::SkipWhitespace())) {
      if (!write(it->first, line).ok()) again.emplace_back(it->first, std::string(line));
    }
  }
  for (const auto& [path, line] : again) write(path, line).IgnoreError();
  return st;
}

}  // namespace berth::cgroups
