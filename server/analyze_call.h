#ifndef VOXGATE_SERVER_ANALYZE_CALL_H_
#define VOXGATE_SERVER_ANALYZE_CALL_H_

#include <optional>

#include "operations/analyze_operation.h"
#include "operations/operation_services.h"
#include "server/unary_call.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Analyze over gRPC: the AnalyzeOperation, answered as a unary call.
class AnalyzeCall final
    : public TypedUnaryCall<v1::AnalyzeRequest, v1::AnalyzeResponse> {
 public:
  AnalyzeCall(grpc::CallbackServerContext* context,
              const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
              const call::CallServices& services,
              const operations::OperationServices& operations);

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.model();
  }

  operations::AnalyzeOperation operation_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_ANALYZE_CALL_H_
