#include "lib/errors.h"

#include <cstring>

#include "absl/strings/string_view.h"

namespace berth {

absl::Status ErrnoError(int err, absl::string_view what) {
  // ErrnoToStatus appends ": strerror(err)" itself.
  return absl::ErrnoToStatus(err, what);
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace berth
