#include "server/chat_call.h"

namespace voxgate::server {

ChatCall::ChatCall(grpc::CallbackServerContext* context,
                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                   const CallServices& services,
                   const OperationServices& operations)
    : TypedUnaryCall(context, request, response,
                     {"Chat", MethodClass::kGeneral}, services),
      operation_(operations, scope()) {}

void ChatCall::Start() {
  operation_.Start(request_, [this](absl::StatusOr<v1::ChatResponse> answer) {
    if (answer.ok()) response_ = *std::move(answer);
    Complete(answer.status());
  });
}

}  // namespace voxgate::server
