#ifndef VOXGATE_COMMON_PROTO_DURATION_H_
#define VOXGATE_COMMON_PROTO_DURATION_H_

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace voxgate {

// google.protobuf.Duration as absl::Duration.
inline absl::Duration ToAbsl(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

}  // namespace voxgate

#endif  // VOXGATE_COMMON_PROTO_DURATION_H_
