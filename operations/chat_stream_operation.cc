#include "operations/chat_stream_operation.h"

#include "absl/time/clock.h"
#include "operations/api_mapping.h"
#include "operations/chat_mapping.h"

namespace voxgate::operations {

std::optional<v1::ChatChunk> ChunkForDelta(const upstream::ChatDelta& delta) {
  if (delta.content.empty() && delta.tool_calls.empty()) return std::nullopt;
  v1::ChatChunk chunk;
  chunk.set_delta(delta.content);
  FillToolCallDeltas(delta.tool_calls, *chunk.mutable_tool_calls());
  return chunk;
}

void ChatStreamSummary::Add(const upstream::ChatDelta& delta) {
  if (!delta.content.empty() || !delta.tool_calls.empty()) ++deltas_;
  if (!delta.model.empty()) model_ = delta.model;
  if (!delta.finish_reason.empty()) finish_reason_ = delta.finish_reason;
  if (delta.usage) usage_ = delta.usage;
}

void ChatStreamSummary::StampFirst(const std::string& request_id,
                                   v1::ChatChunk& chunk) const {
  chunk.set_model(model_);
  chunk.set_request_id(request_id);
}

void ChatStreamSummary::BookCut(call::CallContext& call,
                                int64_t prompt_bytes) const {
  if (usage_) return call.BookTokens(*usage_);
  upstream::Usage estimate;
  estimate.input_tokens = prompt_bytes / 4;
  estimate.output_tokens = deltas_;
  call.BookTokens(estimate);
}

v1::ChatChunk ChatStreamSummary::LastChunk(call::CallContext& call) const {
  if (usage_) call.BookTokens(*usage_);
  v1::ChatChunk last;
  last.set_finish_reason(
      FinishReasonFor(finish_reason_.empty() ? "stop" : finish_reason_));
  if (usage_) FillUsage(*usage_, *last.mutable_usage());
  return last;
}

ChatStreamOperation::ChatStreamOperation(const OperationServices& services,
                                         call::CallScope scope,
                                         ChatStreamOutput& output)
    : scope_(scope),
      output_(output),
      preparation_(services, std::move(scope)) {}

void ChatStreamOperation::Start(const v1::ChatRequest& request,
                                std::shared_ptr<void> output_owner) {
  {
    absl::MutexLock lock(&mu_);
    hold_ = scope_.hold();
    output_owner_ = std::move(output_owner);
  }
  request_ = request;
  preparation_.Start(request_, [self = shared_from_this()](
                                   absl::StatusOr<PreparedChat> prepared) {
    if (!prepared.ok()) {
      return self->Stop(prepared.status(), /*upstream_over=*/true);
    }
    self->StartUpstream(*std::move(prepared));
  });
}

void ChatStreamOperation::StartUpstream(PreparedChat prepared) {
  upstream_started_ = absl::Now();
  // A cancel that came first (during the preparation) stops it at once.
  scope_.work.Run([&](std::function<void()> done) {
    upstream_done_ = std::move(done);
    std::shared_ptr<upstream::Transfer> transfer = prepared.backend->Stream(
        std::move(prepared.chat), scope_.call.upstream_options(),
        shared_from_this());
    Step step;
    {
      absl::MutexLock lock(&mu_);
      if (busy_) transfer_ = transfer;
      // Deltas that came before the transfer was known may have paused it
      // with nothing left to resume it.
      if (busy_ && paused_ && queue_.size() < kResumeBelow) {
        paused_ = false;
        step.resume = transfer;
      }
    }
    Run(std::move(step));
    return transfer;
  });
}

bool ChatStreamOperation::OnDelta(const upstream::ChatDelta& delta) {
  Step step;
  bool go_on;
  {
    absl::MutexLock lock(&mu_);
    summary_.Add(delta);
    std::optional<v1::ChatChunk> chunk = ChunkForDelta(delta);
    if (!chunk.has_value() || final_status_.has_value()) return true;
    queue_.push_back({*std::move(chunk), false});
    if (queue_.size() >= kMaxQueued) paused_ = true;
    go_on = !paused_;
    step = NextLocked();
  }
  Run(std::move(step));
  return go_on;
}

void ChatStreamOperation::OnDone(absl::Status status) {
  upstream_done_();
  Step step;
  {
    absl::MutexLock lock(&mu_);
    scope_.call.BookUpstreamRequest(upstream_started_, absl::Now());
    busy_ = false;
    transfer_.reset();
    if (status.ok() && !final_status_.has_value()) {
      // The last chunk carries why generation stopped and what it cost.
      queue_.push_back({summary_.LastChunk(scope_.call), true});
      final_status_ = absl::OkStatus();
    } else {
      queue_.clear();  // an error ends the stream now
      summary_.BookCut(scope_.call,
                       static_cast<int64_t>(request_.ByteSizeLong()));
      if (!final_status_.has_value()) final_status_ = std::move(status);
    }
    step = NextLocked();
  }
  Run(std::move(step));
}

void ChatStreamOperation::Written(bool ok) {
  // The door may go with the end delivered below.
  const std::shared_ptr<ChatStreamOperation> self = shared_from_this();
  Step step;
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) {
      // What was not delivered was not served, even if the upstream had
      // finished: the stream ends cancelled (an upstream error stays).
      queue_.clear();
      if (!final_status_.has_value() || final_status_->ok()) {
        final_status_ = absl::CancelledError("the client went away");
      }
    }
    step = NextLocked();
  }
  // The client went away: stop the upstream; its end ends the stream.
  if (!ok) scope_.work.Cancel();
  Run(std::move(step));
}

void ChatStreamOperation::Cancel(absl::Status why) {
  Stop(std::move(why), /*upstream_over=*/false);
}

void ChatStreamOperation::Stop(absl::Status status, bool upstream_over) {
  const std::shared_ptr<ChatStreamOperation> self = shared_from_this();
  Step step;
  {
    absl::MutexLock lock(&mu_);
    if (upstream_over) busy_ = false;
    queue_.clear();
    if (!final_status_.has_value()) final_status_ = std::move(status);
    step = NextLocked();
  }
  Run(std::move(step));
}

ChatStreamOperation::Step ChatStreamOperation::NextLocked() {
  Step step;
  if (ended_ || write_in_flight_) return step;
  if (!queue_.empty()) {
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    step.first = !sent_any_;
    step.last = next.last;
    if (step.first) summary_.StampFirst(scope_.call.request_id, next.chunk);
    step.write = std::move(next.chunk);
    sent_any_ = true;
    write_in_flight_ = true;
    if (paused_ && queue_.size() < kResumeBelow && transfer_ != nullptr) {
      paused_ = false;
      step.resume = transfer_;
    }
    return step;
  }
  if (busy_ || !final_status_.has_value()) return step;
  ended_ = true;
  step.end = *final_status_;
  step.sent_any = sent_any_;
  step.hold = std::move(hold_);
  step.output_owner = std::move(output_owner_);
  return step;
}

void ChatStreamOperation::Run(Step step) {
  // Not under mu_: a resumed transfer may deliver deltas at once, and a door
  // may complete a write inline.
  if (step.resume != nullptr) step.resume->Resume();
  if (step.write.has_value()) {
    output_.Write(*std::move(step.write), step.first, step.last);
  }
  if (step.end.has_value()) output_.End(*std::move(step.end), step.sent_any);
}

}  // namespace voxgate::operations
