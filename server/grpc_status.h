#ifndef VOXGATE_SERVER_GRPC_STATUS_H_
#define VOXGATE_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace voxgate::server {

// The one conversion from the gateway's absl::Status to what gRPC callers
// see: StatusToProto, with its details in grpc-status-details-bin.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_GRPC_STATUS_H_
