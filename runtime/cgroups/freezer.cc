#include "runtime/cgroups/freezer.h"

#include <time.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::cgroups {
namespace {

constexpr int kAttempts = 2000;  // × 1 ms: a busy container can take a while

void SleepMillis(int ms) {
  struct timespec ts = {0, ms * 1000 * 1000};
  ::nanosleep(&ts, nullptr);
}

std::string V1State(const std::string& dir) {
  auto text = ReadFile(absl::StrCat(dir, "/freezer.state"));
  return text.ok() ? std::string(absl::StripAsciiWhitespace(*text)) : "";
}

}  // namespace

absl::Status SetFrozenV1(const std::string& dir, bool frozen) {
  const char* want = frozen ? "FROZEN" : "THAWED";
  std::string file = absl::StrCat(dir, "/freezer.state");
  for (int i = 0; i < kAttempts; ++i) {
    // A freeze can stay in FREEZING while tasks are busy in the kernel;
    // writing FROZEN again retries the ones that did not stop yet.
    if (i % 10 == 0) BERTH_RETURN_IF_ERROR(WriteExisting(file, want));
    if (V1State(dir) == want) return absl::OkStatus();
    SleepMillis(1);
  }
  if (frozen) WriteExisting(file, "THAWED").IgnoreError();  // leave it usable
  return absl::DeadlineExceededError(
      absl::StrCat("cgroup ", dir, " did not reach ", want, " (now ", V1State(dir), ")"));
}

bool IsFrozenV1(const std::string& dir) { return V1State(dir) == "FROZEN"; }

bool IsFrozenV2(const std::string& dir) {
  auto text = ReadFile(absl::StrCat(dir, "/cgroup.events"));
  if (!text.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    if (absl::StripAsciiWhitespace(line) == "frozen 1") return true;
  }
  return false;
}

absl::Status SetFrozenV2(const std::string& dir, bool frozen) {
  BERTH_RETURN_IF_ERROR(WriteExisting(absl::StrCat(dir, "/cgroup.freeze"), frozen ? "1" : "0"));
  for (int i = 0; i < kAttempts; ++i) {
    if (IsFrozenV2(dir) == frozen) return absl::OkStatus();
    SleepMillis(1);
  }
  if (frozen) WriteExisting(absl::StrCat(dir, "/cgroup.freeze"), "0").IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("cgroup ", dir, " did not become ", frozen ? "frozen" : "thawed"));
}

void ThawAllV1(const std::vector<std::string>& dirs) {
  for (const std::string& d : dirs) {
    WriteExisting(absl::StrCat(d, "/freezer.state"), "THAWED").IgnoreError();
  }
}

void ThawAllV2(const std::vector<std::string>& dirs) {
  for (const std::string& d : dirs) {
    WriteExisting(absl::StrCat(d, "/cgroup.freeze"), "0").IgnoreError();
  }
}

}  // namespace berth::cgroups
