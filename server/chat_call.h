#ifndef VOXGATE_SERVER_CHAT_CALL_H_
#define VOXGATE_SERVER_CHAT_CALL_H_

#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/chat_operation.h"
#include "server/unary_call.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// Chat over gRPC: the ChatOperation, answered as a unary call.
class ChatCall final
    : public TypedUnaryCall<v1::ChatRequest, v1::ChatResponse> {
 public:
  ChatCall(grpc::CallbackServerContext* context,
           const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
           const call::CallServices& services, const operations::OperationServices& operations);

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.model();
  }

  operations::ChatOperation operation_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_CALL_H_
