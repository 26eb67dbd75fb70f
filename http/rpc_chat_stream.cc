#include "http/rpc_chat_stream.h"

#include <utility>

namespace voxgate::http {

RpcChatStream::RpcChatStream(std::shared_ptr<HttpExchange> exchange,
                             std::shared_ptr<HttpCall> call, RpcWire wire,
                             Headers head,
                             const operations::OperationServices& operations)
    : exchange_(std::move(exchange)),
      call_(std::move(call)),
      wire_(std::move(wire)),
      head_(std::move(head)),
      operation_(std::make_shared<operations::ChatStreamOperation>(
          operations, call_->scope(),
          static_cast<operations::ChatStreamOutput&>(*this))),
      answer_(exchange_, wire_.content_type) {}

void RpcChatStream::Start(const v1::ChatRequest& request) {
  // The operation holds the call, and this handler, until it ends.
  operation_->Start(request, shared_from_this());
}

void RpcChatStream::Write(v1::ChatChunk chunk, bool, bool) {
  Send(RpcMessageBytes(wire_, chunk), /*then_close=*/false);
}

void RpcChatStream::End(absl::Status status, bool) {
  const absl::Status shown = call_->End(status);
  Send(RpcEndBytes(wire_, shown), /*then_close=*/true);
}

void RpcChatStream::Refuse(absl::Status status) {
  const absl::Status shown = call_->End(status);
  Send(RpcEndBytes(wire_, shown), /*then_close=*/true);
}

void RpcChatStream::Send(std::string bytes, bool then_close) {
  answer_.Send(
      std::move(bytes), then_close,
      [this] {
        Headers headers = call_->ResponseHeaders();
        for (const auto& header : head_) headers.push_back(header);
        return headers;
      },
      [self = shared_from_this(), then_close](bool ok) {
        if (!then_close) self->operation_->Written(ok);
      });
}

}  // namespace voxgate::http
