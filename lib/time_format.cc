#include "lib/time_format.h"

namespace berth {

std::string FormatRfc3339Nano(absl::Time t) {
  // %E*S prints seconds with the shortest fraction that represents the value.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

}  // namespace berth
