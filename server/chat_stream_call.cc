#include "server/chat_stream_call.h"

#include "absl/time/clock.h"
#include "operations/audio_for_chat.h"
#include "operations/api_mapping.h"
#include "operations/chat_operation.h"
#include "server/wire_messages.h"

namespace voxgate::server {

// Forwards upstream events to the call; the call outlives it because Finish
// waits for the upstream's end.
class ChatStreamCall::UpstreamObserver final
    : public upstream::ChatStreamObserver {
 public:
  explicit UpstreamObserver(ChatStreamCall* call) : call_(call) {}
  bool OnDelta(const upstream::ChatDelta& delta) override {
    return call_->OnDelta(delta);
  }
  void OnDone(absl::Status status) override {
    call_->OnUpstreamDone(std::move(status));
  }

 private:
  ChatStreamCall* call_;
};

ChatStreamCall::ChatStreamCall(grpc::CallbackServerContext* context,
                               const grpc::ByteBuffer* request,
                               const call::CallServices& services,
                               const operations::OperationServices& operations)
    : CallReactor(context, call::kChatStream, services),
      request_bytes_(request),
      operations_(operations) {}

void ChatStreamCall::Begin() {
  if (absl::Status who = Authenticate(); !who.ok()) return Refused(who);
  if (absl::Status parsed = ParseMessage(*request_bytes_, request_);
      !parsed.ok()) {
    return Refused(parsed);
  }
  Admit(static_cast<int64_t>(request_bytes_->Length()), request_.model());
}

void ChatStreamCall::Refused(absl::Status status) {
  Lock lock(this);
  busy_ = false;
  FinishLocked(std::move(status));
}

void ChatStreamCall::Start() {
  absl::StatusOr<operations::PreparedChat> prepared =
      operations::PrepareChatStream(request_, operations_, pool_);
  if (!prepared.ok()) return Refused(prepared.status());
  if (operations::AudioParts(prepared->chat).empty()) return StartUpstream(*std::move(prepared));
  // Audio is charged by its measured length: count it on a worker first.
  auto pin = std::make_shared<Pin>(this);
  upstream::ChatBackend* backend = prepared->backend;
  absl::Status queued = operations::MeasureChatAudio(
      std::move(prepared->chat), {}, operations_.config, call_.deadline,
      operations_.workers,
      [this, pin, backend](absl::StatusOr<operations::MeasuredChat> measured) {
        if (!measured.ok()) return Refused(measured.status());
        call_.audio_seconds = measured->audio_seconds;
        StartUpstream({backend, std::move(measured->chat)});
      });
  if (!queued.ok()) Refused(queued);
}

void ChatStreamCall::StartUpstream(operations::PreparedChat prepared) {
  upstream_started_ = absl::Now();
  Pin pin(this);  // the upstream may end, and the call with it, before Attach
  upstream_key_ = work_.Reserve();
  // Not under mu_: a request that fails at once may report its end here.
  std::shared_ptr<upstream::Transfer> transfer = prepared.backend->Stream(
      std::move(prepared.chat), call_.upstream_options(),
      std::make_shared<UpstreamObserver>(this));
  {
    Lock lock(this);
    if (busy_) transfer_ = transfer;
  }
  // A cancel that came first (while admitted, in Start) stops it now.
  work_.Attach(upstream_key_, std::move(transfer));
}

bool ChatStreamCall::OnDelta(const upstream::ChatDelta& delta) {
  Lock lock(this);
  summary_.Add(delta);
  std::optional<v1::ChatChunk> chunk = operations::ChunkForDelta(delta);
  if (!chunk.has_value() || finished_) return true;
  queue_.push_back(*std::move(chunk));
  PumpLocked();
  if (queue_.size() >= kMaxQueued) paused_ = true;
  return !paused_;
}

void ChatStreamCall::OnUpstreamDone(absl::Status status) {
  work_.Done(upstream_key_);
  Lock lock(this);
  call_.BookUpstreamRequest(upstream_started_, absl::Now());
  busy_ = false;
  transfer_.reset();
  if (status.ok() && !finished_) {
    // The last chunk carries why generation stopped and what it cost.
    queue_.push_back(summary_.LastChunk(call_));
  } else {
    queue_.clear();  // an error ends the stream now
    summary_.BookCut(call_, static_cast<int64_t>(request_.ByteSizeLong()));
  }
  if (!final_status_.has_value()) final_status_ = std::move(status);
  PumpLocked();
}

void ChatStreamCall::PumpLocked() {
  if (write_in_flight_ || finished_) return;
  if (queue_.empty()) {
    if (!busy_ && final_status_.has_value()) FinishLocked(*final_status_);
    return;
  }
  v1::ChatChunk chunk = std::move(queue_.front());
  queue_.pop_front();
  if (!first_sent_) {
    first_sent_ = true;
    summary_.StampFirst(call_.request_id, chunk);
  }
  writing_ = SerializeMessage(chunk);
  write_in_flight_ = true;
  AfterUnlock([this] { StartWrite(&writing_); });
  if (paused_ && queue_.size() < kResumeBelow && transfer_ != nullptr) {
    paused_ = false;
    std::shared_ptr<upstream::Transfer> transfer = transfer_;
    AfterUnlock([transfer] { transfer->Resume(); });
  }
}

void ChatStreamCall::OnWriteDone(bool ok) {
  Lock lock(this);
  write_in_flight_ = false;
  if (!ok) {
    // The client went away: stop the upstream; its end finishes the call.
    queue_.clear();
    if (!final_status_.has_value())
      final_status_ = absl::CancelledError("the client went away");
    AfterUnlock([this] { work_.Cancel(); });
    PumpLocked();
    return;
  }
  metrics_.MessageSent("ChatStream");
  PumpLocked();
}

void ChatStreamCall::OnCallerCancelled() {
  // Admission or the upstream (cancelled already) ends a busy call; a call
  // waiting only on its writes ends here.
  Lock lock(this);
  queue_.clear();
  if (!final_status_.has_value())
    final_status_ = absl::CancelledError("the caller cancelled the call");
  PumpLocked();
}

void ChatStreamCall::FinishLocked(absl::Status status) {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  const grpc::Status grpc_status = Conclude(status);
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

}  // namespace voxgate::server
