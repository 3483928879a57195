#include "runtime/cli/report.h"

#include <unistd.h>

#include "absl/strings/string_view.h"
#include "lib/file_util.h"

namespace berth::cli {

void Print(absl::string_view text) { WriteAll(STDOUT_FILENO, text).IgnoreError(); }

}  // namespace berth::cli
