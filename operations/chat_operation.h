#ifndef VOXGATE_OPERATIONS_CHAT_OPERATION_H_
#define VOXGATE_OPERATIONS_CHAT_OPERATION_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "upstream/routing.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::operations {

// Chat's work for every front door: map the request, choose the pool (the
// audio chat pool when a message carries audio, else the text pool),
// transcode audio parts that are neither WAV nor MP3 on the audio workers
// (one after another), measure every audio part's seconds, send it and
// answer. One per call.
class ChatOperation {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ChatResponse>)>;

  ChatOperation(const OperationServices& services, call::CallScope scope)
      : services_(services), scope_(std::move(scope)) {}

  // Starts the work; `done` runs exactly once, on any thread (possibly this
  // one), as the operation's last act (it may destroy the operation).
  // `request` must outlive that.
  void Start(const v1::ChatRequest& request, Done done);

 private:
  // Transcodes the next audio part, or sends the request when none is left.
  void ConvertNext();
  // Counts the seconds of every audio part (what the tenant is charged):
  // the transcoded ones were counted as they were decoded, the others are
  // decoded to be counted. Then sends.
  void MeasureThenSend();
  void SendUpstream(upstream::ChatRequest request);
  void Finish(absl::StatusOr<v1::ChatResponse> result);

  const OperationServices services_;
  call::CallScope scope_;
  const v1::ChatRequest* request_ = nullptr;
  Done done_;
  upstream::ChatBackend* backend_ = nullptr;
  // The request being built while its audio parts are transcoded; touched by
  // one step at a time.
  upstream::ChatRequest chat_;
  std::vector<std::pair<int, int>> to_convert_;
  std::size_t converted_ = 0;
  double converted_seconds_ = 0;  // of the transcoded parts
};

// A ChatStream request made ready to stream: its backend (pool recorded in
// `pool`) and its upstream form with the pool's model defaults applied.
// ChatStream takes audio parts as WAV or MP3 only (INVALID_ARGUMENT
// otherwise).
struct PreparedChat {
  upstream::ChatBackend* backend;
  upstream::ChatRequest chat;
};
absl::StatusOr<PreparedChat> PrepareChatStream(
    const v1::ChatRequest& request, const OperationServices& services,
    std::string& pool);

// The chunk a stream sends for an upstream delta, or nothing when the delta
// carries no content and no tool calls (its model, finish reason and usage
// are gathered by ChatStreamSummary).
std::optional<v1::ChatChunk> ChunkForDelta(const upstream::ChatDelta& delta);

// What a chat stream learns besides its chunks: the model (first chunk), and
// why it stopped and what it cost (last chunk).
class ChatStreamSummary {
 public:
  void Add(const upstream::ChatDelta& delta);
  // Stamps the first chunk with the model and request id.
  void StampFirst(const std::string& request_id, v1::ChatChunk& chunk) const;
  // The last chunk: finish reason (stop when the upstream named none) and
  // usage, which it books to `call`.
  v1::ChatChunk LastChunk(call::CallContext& call) const;
  // For a stream that ends before its usage came (the caller hung up, the
  // upstream failed mid-way): books what it used all the same, so that
  // cancelling early is not free. The upstream's usage when it came, else
  // one completion token per delta received (servers stream about one token
  // a delta) and the prompt as `prompt_bytes` / 4.
  void BookCut(call::CallContext& call, int64_t prompt_bytes) const;

 private:
  std::string model_;
  std::string finish_reason_;
  std::optional<upstream::Usage> usage_;
  int64_t deltas_ = 0;
};

// Chooses the chat backend for a request: the audio chat pool when a message
// carries audio, else the text pool; records the pool's name in `pool`.
absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Routing& routing, std::string& pool);

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_CHAT_OPERATION_H_
