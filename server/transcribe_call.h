#ifndef VOXGATE_SERVER_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_TRANSCRIBE_CALL_H_

#include "server/call_scope.h"
#include "server/unary_call.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::server {

// Transcribe over gRPC: StartTranscribe, answered as a unary call.
class TranscribeCall final
    : public TypedUnaryCall<v1::TranscribeRequest, v1::TranscribeResponse> {
 public:
  TranscribeCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                 const CallServices& services,
                 const OperationServices& operations)
      : TypedUnaryCall(context, request, response,
                       {"Transcribe", MethodClass::kTranscription}, services),
        operations_(operations) {}

 private:
  void Start() override;
  std::optional<absl::string_view> requested_model() const override {
    return request_.config().model();
  }

  const OperationServices operations_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIBE_CALL_H_
