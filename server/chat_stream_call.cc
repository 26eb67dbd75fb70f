#include "server/chat_stream_call.h"

#include "absl/time/clock.h"
#include "server/api_mapping.h"
#include "server/call_end.h"
#include "server/chat_call.h"

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
                               const v1::ChatRequest* request,
                               upstream::Upstreams& upstreams,
                               const Logger& logger, Admission& admission,
                               CallMetrics& metrics)
    : context_(context),
      call_(StartCall(*context)),
      request_(request),
      upstreams_(upstreams),
      logger_(logger),
      admission_(admission),
      metrics_(metrics) {
  metrics_.Started("ChatStream");
}

void ChatStreamCall::Begin() {
  Pin pin(this);  // the callback may run here and end the call
  const uint64_t wait =
      admission_.Admit([this](absl::StatusOr<Admission::Ticket> ticket) {
        admission_wait_.store(0);
        if (!ticket.ok()) {
          Lock lock(this);
          FinishLocked(ticket.status());
          return;
        }
        Start(*std::move(ticket));
      });
  if (wait != 0) admission_wait_.store(wait);
}

void ChatStreamCall::Start(Admission::Ticket ticket) {
  Pin pin(this);  // the upstream may end (and the call with it) on this thread
  auto fail = [this](absl::Status status) {
    Lock lock(this);
    FinishLocked(std::move(status));
  };
  ticket_.emplace(std::move(ticket));
  call_.queue_time = absl::Now() - call_.started;
  std::vector<std::pair<int, int>> to_convert;
  absl::StatusOr<upstream::ChatRequest> chat =
      ChatRequestFor(*request_, to_convert);
  if (!chat.ok()) {
    fail(chat.status());
    return;
  }
  if (!to_convert.empty()) {
    {
      fail(absl::InvalidArgumentError(
          "ChatStream takes audio parts as WAV or MP3 "
          "only; use Chat for other encodings"));
      return;
    }
  }
  absl::StatusOr<upstream::ChatBackend*> backend =
      ChatBackendFor(*chat, request_->model(), upstreams_, pool_);
  if (!backend.ok()) {
    fail(backend.status());
    return;
  }
  chat->model = upstreams_.UpstreamModelName(request_->model());
  upstream_started_ = absl::Now();
  // Not under mu_: a request that fails at once reports its end on this thread.
  std::shared_ptr<upstream::Transfer> transfer =
      (*backend)->Stream(*std::move(chat), call_.upstream_options(),
                         std::make_shared<UpstreamObserver>(this));
  Lock lock(this);
  if (!upstream_done_) transfer_ = std::move(transfer);
}

bool ChatStreamCall::OnDelta(const upstream::ChatDelta& delta) {
  Lock lock(this);
  if (!delta.model.empty()) model_ = delta.model;
  if (!delta.finish_reason.empty()) finish_reason_ = delta.finish_reason;
  if (delta.usage) usage_ = delta.usage;
  if (delta.content.empty() || finished_) return true;
  v1::ChatChunk chunk;
  chunk.set_delta(delta.content);
  queue_.push_back(std::move(chunk));
  PumpLocked();
  if (queue_.size() >= kMaxQueued) paused_ = true;
  return !paused_;
}

void ChatStreamCall::OnUpstreamDone(absl::Status status) {
  Lock lock(this);
  call_.upstream_time = absl::Now() - upstream_started_;
  upstream_done_ = true;
  transfer_.reset();
  final_status_ = status;
  if (status.ok()) {
    // The last chunk carries why generation stopped and what it cost.
    v1::ChatChunk last;
    last.set_finish_reason(
        FinishReasonFor(finish_reason_.empty() ? "stop" : finish_reason_));
    if (usage_) FillUsage(*usage_, *last.mutable_usage());
    queue_.push_back(std::move(last));
  } else {
    queue_.clear();  // an error ends the stream now
  }
  PumpLocked();
}

void ChatStreamCall::PumpLocked() {
  if (write_in_flight_ || finished_) return;
  if (queue_.empty()) {
    if (upstream_done_) FinishLocked(final_status_);
    return;
  }
  writing_ = std::move(queue_.front());
  queue_.pop_front();
  if (!first_sent_) {
    first_sent_ = true;
    writing_.set_model(model_);
    writing_.set_request_id(call_.request_id);
  }
  write_in_flight_ = true;
  AfterUnlock([this] { StartWrite(&writing_); });
  if (paused_ && queue_.size() < kResumeBelow && transfer_ != nullptr) {
    paused_ = false;
    transfer_->Resume();
  }
}

void ChatStreamCall::OnWriteDone(bool ok) {
  Lock lock(this);
  write_in_flight_ = false;
  if (!ok) {
    // The client went away: stop the upstream; its end finishes the call.
    queue_.clear();
    if (transfer_ != nullptr) transfer_->Cancel();
    if (upstream_done_)
      FinishLocked(absl::CancelledError("the client went away"));
    return;
  }
  metrics_.MessageSent("ChatStream");
  PumpLocked();
}

void ChatStreamCall::OnCancel() {
  if (const uint64_t wait = admission_wait_.exchange(0); wait != 0) {
    admission_.CancelWait(wait);  // its callback finishes the call
    return;
  }
  std::shared_ptr<upstream::Transfer> transfer;
  {
    Lock lock(this);
    queue_.clear();
    transfer = transfer_;
  }
  if (transfer != nullptr) transfer->Cancel();
}

void ChatStreamCall::FinishLocked(absl::Status status) {
  if (finished_) return;
  finished_ = true;
  const grpc::Status grpc_status =
      EndCall(*context_, call_, "ChatStream", pool_, status, logger_, metrics_);
  ticket_.reset();
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

}  // namespace voxgate::server
