#include "lib/proc.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::proc {

std::optional<StatInfo> ReadStat(pid_t pid) {
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!text.ok()) return std::nullopt;
  // The command name (field 2) is in parentheses and may contain spaces or
  // ')', so fields are counted from the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*text).substr(close + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields.size() < 20) return std::nullopt;
  StatInfo info;
  info.state = fields[0].empty() ? '?' : fields[0][0];
  if (!absl::SimpleAtoi(fields[19], &info.start_time)) return std::nullopt;
  return info;
}

bool IsSameLiveProcess(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto st = ReadStat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X') return false;
  return st->start_time == start_time;
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) {
    return absl::InternalError(absl::StrCat(path, ": not a pid: ", *text));
  }
  return pid;
}

absl::StatusOr<std::string> SelfExe() {
  std::string path(PATH_MAX, '\0');
  ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n <= 0) return ErrnoError("readlink /proc/self/exe");
  path.resize(static_cast<size_t>(n));
  return path;
}

}  // namespace berth::proc
