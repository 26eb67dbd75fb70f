#include "server/analyze_call.h"

namespace voxgate::server {

AnalyzeCall::AnalyzeCall(grpc::CallbackServerContext* context,
                         const grpc::ByteBuffer* request,
                         grpc::ByteBuffer* response,
                         const call::CallServices& services,
                         const operations::OperationServices& operations)
    : TypedUnaryCall(context, request, response, call::kAnalyze, services),
      operation_(operations, scope()) {}

void AnalyzeCall::Start() {
  operation_.Start(request_,
                   [this](absl::StatusOr<v1::AnalyzeResponse> answer) {
                     if (answer.ok()) response_ = *std::move(answer);
                     Complete(answer.status());
                   });
}

}  // namespace voxgate::server
