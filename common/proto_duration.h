#ifndef VOXGATE_COMMON_PROTO_DURATION_H_
#define VOXGATE_COMMON_PROTO_DURATION_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace voxgate {

// google.protobuf.Duration as absl::Duration.
inline absl::Duration ToAbsl(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) +
         absl::Nanoseconds(duration.nanos());
}

// absl::Duration as google.protobuf.Duration (finite durations only).
inline google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  google::protobuf::Duration out;
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return out;
}

}  // namespace voxgate

#endif  // VOXGATE_COMMON_PROTO_DURATION_H_
