#include "server/chat_stream_call.h"

#include "server/wire_messages.h"

namespace voxgate::server {

ChatStreamCall::ChatStreamCall(grpc::CallbackServerContext* context,
                               const grpc::ByteBuffer* request,
                               const call::CallServices& services,
                               const operations::OperationServices& operations)
    : CallReactor(context, call::kChatStream, services),
      request_bytes_(request),
      operation_(std::make_shared<operations::ChatStreamOperation>(
          operations, scope(),
          static_cast<operations::ChatStreamOutput&>(*this))) {}

void ChatStreamCall::Begin() {
  if (absl::Status who = Authenticate(); !who.ok()) return Refused(who);
  if (absl::Status parsed = ParseMessage(*request_bytes_, request_);
      !parsed.ok()) {
    return Refused(parsed);
  }
  Admit(static_cast<int64_t>(request_bytes_->Length()), request_.model());
}

void ChatStreamCall::Start() { operation_->Start(request_); }

void ChatStreamCall::Refused(absl::Status status) {
  // The operation never started: nothing else will end the call.
  Lock lock(this);
  const grpc::Status grpc_status = Conclude(status);
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

void ChatStreamCall::OnCallerCancelled() {
  Pin pin(this);  // the operation may end the call before this returns
  operation_->Cancel(absl::CancelledError("the caller cancelled the call"));
}

void ChatStreamCall::Write(v1::ChatChunk chunk, bool /*first*/, bool /*last*/) {
  Lock lock(this);
  writing_ = SerializeMessage(chunk);
  AfterUnlock([this] { StartWrite(&writing_); });
}

void ChatStreamCall::OnWriteDone(bool ok) {
  Pin pin(this);  // the operation may end the call before this returns
  if (ok) metrics_.MessageSent(call::kChatStream.name);
  operation_->Written(ok);
}

void ChatStreamCall::End(absl::Status status, bool /*sent_any*/) {
  Lock lock(this);
  const grpc::Status grpc_status = Conclude(status);
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

}  // namespace voxgate::server
