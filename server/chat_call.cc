#include "server/chat_call.h"

namespace voxgate::server {

ChatCall::ChatCall(grpc::CallbackServerContext* context,
                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                   const call::CallServices& services,
                   const operations::OperationServices& operations)
    : TypedUnaryCall(context, request, response,
                     call::kChat, services),
      operation_(operations, scope()) {}

void ChatCall::Start() {
  operation_.Start(request_, [this](absl::StatusOr<v1::ChatResponse> answer) {
    if (answer.ok()) response_ = *std::move(answer);
    Complete(answer.status());
  });
}

}  // namespace voxgate::server
