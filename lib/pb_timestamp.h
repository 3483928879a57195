// absl::Time as the protobuf Timestamp containerd's messages carry
// (berth.pb.Timestamp, the lite stand-in for the well-known type).
#pragma once

#include "absl/time/time.h"
#include "berth_pb.pb.h"

namespace berth {

inline void ToTimestamp(absl::Time t, berth::pb::Timestamp* ts) {
  int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

inline absl::Time FromTimestamp(const berth::pb::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace berth
