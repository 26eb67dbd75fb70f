#ifndef VOXGATE_HTTP_CHAT_SSE_H_
#define VOXGATE_HTTP_CHAT_SSE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "http/http_call.h"
#include "http/http_types.h"
#include "http/streamed_answer.h"
#include "operations/chat_stream_operation.h"
#include "operations/operation_services.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::http {

// ChatStream over HTTP as OpenAI streams it: the ChatStreamOperation, its
// chunks as Server-Sent Events (one chat.completion.chunk each, the finish
// reason last, then the usage chunk when asked, then "data: [DONE]"). An
// error before the first chunk is an ordinary HTTP error; after it, an error
// event ends the stream. The client hanging up cancels the upstream.
class ChatSse final : private operations::ChatStreamOutput,
                      public std::enable_shared_from_this<ChatSse> {
 public:
  ChatSse(std::shared_ptr<HttpExchange> exchange,
          std::shared_ptr<HttpCall> call, bool include_usage,
          const operations::OperationServices& operations);
  // Once admitted: starts the operation.
  void Start(const v1::ChatRequest& request);
  // Ends the call with `status` before the operation started.
  void Refuse(absl::Status status);

 private:
  // operations::ChatStreamOutput.
  void Write(v1::ChatChunk chunk, bool first, bool last) override;
  void End(absl::Status status, bool sent_any) override;

  void Send(std::string events, bool then_close);

  const std::shared_ptr<HttpExchange> exchange_;
  const std::shared_ptr<HttpCall> call_;
  const bool include_usage_;
  const int64_t created_;
  const std::shared_ptr<operations::ChatStreamOperation> operation_;
  StreamedAnswer answer_;
  absl::Mutex mu_;
  std::string model_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_CHAT_SSE_H_
