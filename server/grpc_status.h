#ifndef VOXGATE_SERVER_GRPC_STATUS_H_
#define VOXGATE_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace voxgate::server {

// The one conversion from the gateway's absl::Status to what callers see. Codes
// map one to one (both follow google.rpc.Code); the message is scrubbed of
// credentials (URL user info, bearer tokens, api keys) so upstream errors can
// be passed on.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Removes credentials from text that may quote URLs or HTTP headers.
std::string ScrubSecrets(absl::string_view text);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_GRPC_STATUS_H_
