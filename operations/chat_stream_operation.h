#ifndef VOXGATE_OPERATIONS_CHAT_STREAM_OPERATION_H_
#define VOXGATE_OPERATIONS_CHAT_STREAM_OPERATION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "call/call_context.h"
#include "call/call_scope.h"
#include "operations/chat_preparation.h"
#include "operations/operation_services.h"
#include "upstream/backend.h"
#include "voxgate/v1/chat.pb.h"

namespace voxgate::operations {

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

// Where a chat stream's chunks go: a door's writer (a gRPC stream, Server-Sent
// Events). The operation calls it one write at a time, never under its own
// lock, and never again after End.
class ChatStreamOutput {
 public:
  virtual ~ChatStreamOutput() = default;
  // Sends `chunk`; the door reports its completion with
  // ChatStreamOperation::Written. `first`: the stream's first chunk (it
  // carries the model and request id); `last`: the closing chunk (finish
  // reason and usage).
  virtual void Write(v1::ChatChunk chunk, bool first, bool last) = 0;
  // The stream is over, once: OK after the last chunk was written, or the
  // error that ended it. `sent_any`: whether any chunk was written (a door
  // answers an ordinary error when none was).
  virtual void End(absl::Status status, bool sent_any) = 0;
};

// ChatStream for every door: the ChatPreparation (audio parts transcoded and
// measured as Chat does them), then the upstream stream, relayed one chunk at
// a time. Up to kMaxQueued chunks wait for the door; beyond that the upstream
// transfer is paused until the door catches up (backpressure both ways). A
// cancel stops the upstream whenever it comes; End comes once, after the
// upstream has stopped and the last write is done. Held by shared pointers
// (the door's and the upstream's while it streams); thread-safe.
class ChatStreamOperation final
    : public upstream::ChatStreamObserver,
      public std::enable_shared_from_this<ChatStreamOperation> {
 public:
  static constexpr std::size_t kMaxQueued = 32;
  static constexpr std::size_t kResumeBelow = 8;

  // `output` must stay valid until End has been called on it; the operation
  // holds the call (scope.hold) until then.
  ChatStreamOperation(const OperationServices& services, call::CallScope scope,
                      ChatStreamOutput& output);

  // Starts the work, once admitted. `request` is copied. `output_owner`, when
  // given, is held with the call until End is delivered (for an output that
  // nothing else keeps alive between writes).
  void Start(const v1::ChatRequest& request,
             std::shared_ptr<void> output_owner = nullptr);
  // The door's write completed; `ok` false: the client is gone, which stops
  // the upstream.
  void Written(bool ok);
  // The caller cancelled (the call's work is cancelled already): the stream
  // ends with `why` once the upstream has stopped.
  void Cancel(absl::Status why);

  bool OnDelta(const upstream::ChatDelta& delta) override;
  void OnDone(absl::Status status) override;

 private:
  // What to do once mu_ is released: resume the upstream, write, or end.
  struct Step {
    std::shared_ptr<upstream::Transfer> resume;
    std::optional<v1::ChatChunk> write;
    bool first = false;
    bool last = false;
    std::optional<absl::Status> end;
    bool sent_any = false;
    // Released after the end is delivered.
    std::shared_ptr<void> hold;
    std::shared_ptr<void> output_owner;
  };
  struct Queued {
    v1::ChatChunk chunk;
    bool last = false;
  };

  void StartUpstream(PreparedChat prepared);
  // Ends the stream with `status` unless it has an end already.
  void Stop(absl::Status status, bool upstream_over);
  Step NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(Step step);

  call::CallScope scope_;
  ChatStreamOutput& output_;
  v1::ChatRequest request_;
  ChatPreparation preparation_;
  absl::Time upstream_started_;
  std::function<void()> upstream_done_;  // set before the upstream starts

  absl::Mutex mu_;
  std::shared_ptr<void> hold_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<void> output_owner_ ABSL_GUARDED_BY(mu_);
  ChatStreamSummary summary_ ABSL_GUARDED_BY(mu_);
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<upstream::Transfer> transfer_ ABSL_GUARDED_BY(mu_);
  // Preparing or streaming: the end waits for it to stop.
  bool busy_ ABSL_GUARDED_BY(mu_) = true;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool sent_any_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> final_status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_CHAT_STREAM_OPERATION_H_
