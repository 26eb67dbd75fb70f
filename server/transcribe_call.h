#ifndef VOXGATE_SERVER_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_TRANSCRIBE_CALL_H_

#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "server/unary_call.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Transcribe over gRPC: StartTranscribe, answered as a unary call.
class TranscribeCall final
    : public TypedUnaryCall<v1::TranscribeRequest, v1::TranscribeResponse> {
 public:
  TranscribeCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                 const call::CallServices& services,
                 const operations::OperationServices& operations)
      : TypedUnaryCall(context, request, response,
                       call::kTranscribe, services),
        operations_(operations) {}

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.config().model();
  }

  const operations::OperationServices operations_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIBE_CALL_H_
