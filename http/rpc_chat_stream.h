#ifndef VOXGATE_HTTP_RPC_CHAT_STREAM_H_
#define VOXGATE_HTTP_RPC_CHAT_STREAM_H_

#include <memory>

#include "absl/status/status.h"
#include "http/http_call.h"
#include "http/http_types.h"
#include "http/rpc_wire.h"
#include "http/streamed_answer.h"
#include "operations/chat_stream_operation.h"

namespace voxgate::http {

// ChatStream over Connect (application/connect+json or +proto) or gRPC-Web:
// the ChatStreamOperation, each ChatChunk as one enveloped message, then the
// protocol's end message with the status. Always HTTP 200: the status travels
// in the end message, as both protocols' streams say. The client hanging up
// cancels the upstream.
class RpcChatStream final : private operations::ChatStreamOutput,
                            public std::enable_shared_from_this<RpcChatStream> {
 public:
  // `head` goes out with the response head (CORS).
  RpcChatStream(std::shared_ptr<HttpExchange> exchange,
                std::shared_ptr<HttpCall> call, RpcWire wire, Headers head,
                const operations::OperationServices& operations);
  // Once admitted: starts the operation.
  void Start(const v1::ChatRequest& request);
  // Ends the call with `status` before the operation started.
  void Refuse(absl::Status status);

 private:
  // operations::ChatStreamOutput.
  void Write(v1::ChatChunk chunk, bool first, bool last) override;
  void End(absl::Status status, bool sent_any) override;

  void Send(std::string bytes, bool then_close);

  const std::shared_ptr<HttpExchange> exchange_;
  const std::shared_ptr<HttpCall> call_;
  const RpcWire wire_;
  const Headers head_;
  const std::shared_ptr<operations::ChatStreamOperation> operation_;
  StreamedAnswer answer_;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_RPC_CHAT_STREAM_H_
