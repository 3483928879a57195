// How a subcommand ends: one error line (stderr and --log), exit status.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/log.h"

namespace berth::cli {

inline int Fail(const absl::Status& status) {
  log::Error(status.message());
  return 1;
}

inline int Usage(absl::string_view message) {
  log::Error(message);
  return 1;
}

// Writes text to stdout in full.
void Print(absl::string_view text);

}  // namespace berth::cli
