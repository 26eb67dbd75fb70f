#ifndef VOXGATE_HTTP_CHAT_SSE_H_
#define VOXGATE_HTTP_CHAT_SSE_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "http/http_call.h"
#include "http/http_types.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/chat_operation.h"
#include "upstream/transfer.h"

namespace voxgate::http {

// ChatStream over HTTP as OpenAI streams it: Server-Sent Events, one
// chat.completion.chunk per upstream delta, the finish reason last, then the
// usage chunk when asked, then "data: [DONE]". One write at a time; beyond
// kMaxQueued chunks waiting the upstream transfer is paused until the client
// reads. An error before the first chunk is an ordinary HTTP error; after it,
// an error event ends the stream. The client hanging up cancels the upstream.
class ChatSse final : public upstream::ChatStreamObserver,
                      public std::enable_shared_from_this<ChatSse> {
 public:
  static constexpr std::size_t kMaxQueued = 32;
  static constexpr std::size_t kResumeBelow = 8;

  ChatSse(std::shared_ptr<HttpExchange> exchange,
          std::shared_ptr<HttpCall> call, bool include_usage);
  // Once admitted: prepares the request and starts the upstream stream.
  void Start(const v1::ChatRequest& request,
             const operations::OperationServices& operations);

  bool OnDelta(const upstream::ChatDelta& delta) override;
  void OnDone(absl::Status status) override;

 private:
  void QueueLocked(std::string event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the next write, or ends the response when all is out.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWritten(bool ok);
  void Fail(absl::Status status);
  // Ends the call with `status` before any upstream request.
  void Refuse(absl::Status status);
  // Sends the prepared request upstream (from the door or a worker).
  void StartUpstream(operations::PreparedChat prepared);

  const std::shared_ptr<HttpExchange> exchange_;
  const std::shared_ptr<HttpCall> call_;
  const bool include_usage_;
  const int64_t created_;
  absl::Time upstream_started_;
  CancelScope::Key upstream_key_ = 0;
  absl::Mutex mu_;
  operations::ChatStreamSummary summary_ ABSL_GUARDED_BY(mu_);
  int64_t prompt_bytes_ = 0;  // set before the upstream starts
  std::string model_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // response head sent
  bool first_chunk_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool upstream_done_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_CHAT_SSE_H_
