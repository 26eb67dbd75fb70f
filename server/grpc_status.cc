#include "server/grpc_status.h"

#include "call/status_details.h"

namespace voxgate::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const google::rpc::Status proto = call::StatusToProto(status);
  if (proto.details_size() == 0) {
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                        proto.message());
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      proto.message(), proto.SerializeAsString());
}

}  // namespace voxgate::server
