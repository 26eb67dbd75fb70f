#ifndef VOXGATE_SERVER_CHAT_STREAM_CALL_H_
#define VOXGATE_SERVER_CHAT_STREAM_CALL_H_

#include <memory>

#include "absl/status/status.h"
#include "call/call.h"
#include "grpcpp/grpcpp.h"
#include "operations/chat_stream_operation.h"
#include "operations/operation_services.h"
#include "server/call_reactor.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::server {

// ChatStream over gRPC: the ChatStreamOperation, its chunks written as
// stream messages (one write in flight; the operation holds the rest back).
// A client cancel stops the upstream whenever it comes; Finish runs once,
// when the operation has ended.
class ChatStreamCall final
    : public CallReactor<grpc::ServerWriteReactor<grpc::ByteBuffer>>,
      private operations::ChatStreamOutput {
 public:
  ChatStreamCall(grpc::CallbackServerContext* context,
                 const grpc::ByteBuffer* request,
                 const call::CallServices& services,
                 const operations::OperationServices& operations);
  // Parses the request and asks for admission; the operation starts once a
  // slot is granted.
  void Begin();

  void OnWriteDone(bool ok) override;

 private:
  void Start() override;
  void Refused(absl::Status status) override;
  void OnCallerCancelled() override;
  // operations::ChatStreamOutput.
  void Write(v1::ChatChunk chunk, bool first, bool last) override;
  void End(absl::Status status, bool sent_any) override;

  const grpc::ByteBuffer* const request_bytes_;
  v1::ChatRequest request_;
  const std::shared_ptr<operations::ChatStreamOperation> operation_;
  grpc::ByteBuffer writing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CHAT_STREAM_CALL_H_
