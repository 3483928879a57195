// absl::Time as the protobuf Timestamp containerd's messages carry.
#pragma once

#include "absl/time/time.h"
#include "berth_pb.pb.h"

namespace berth::shim {

inline void ToTimestamp(absl::Time t, berth::pb::Timestamp* ts) {
  int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

}  // namespace berth::shim
