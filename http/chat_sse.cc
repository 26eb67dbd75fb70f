#include "http/chat_sse.h"

#include "absl/time/clock.h"
#include "common/json_limits.h"
#include "http/http_errors.h"
#include "operations/audio_for_chat.h"
#include "http/openai_json.h"

namespace voxgate::http {
namespace {

std::string Event(const nlohmann::json& data) {
  return "data: " + DumpJson(data) + "\n\n";
}

}  // namespace

ChatSse::ChatSse(std::shared_ptr<HttpExchange> exchange,
                 std::shared_ptr<HttpCall> call, bool include_usage)
    : exchange_(std::move(exchange)),
      call_(std::move(call)),
      include_usage_(include_usage),
      created_(absl::ToUnixSeconds(absl::Now())) {}

void ChatSse::Start(const v1::ChatRequest& request,
                    const operations::OperationServices& operations) {
  call::CallScope scope = call_->scope();
  absl::StatusOr<operations::PreparedChat> prepared =
      operations::PrepareChatStream(request, operations, scope.pool);
  if (!prepared.ok()) return Refuse(prepared.status());
  prompt_bytes_ = static_cast<int64_t>(request.ByteSizeLong());
  if (operations::AudioParts(prepared->chat).empty()) {
    return StartUpstream(*std::move(prepared));
  }
  // Audio is charged by its measured length: count it on a worker first.
  upstream::ChatBackend* backend = prepared->backend;
  absl::Status queued = operations::MeasureChatAudio(
      std::move(prepared->chat), {}, operations.config,
      call_->context().deadline, operations.workers,
      [self = shared_from_this(),
       backend](absl::StatusOr<operations::MeasuredChat> measured) {
        if (!measured.ok()) return self->Refuse(measured.status());
        self->call_->context().audio_seconds = measured->audio_seconds;
        self->StartUpstream({backend, std::move(measured->chat)});
      });
  if (!queued.ok()) Refuse(queued);
}

void ChatSse::Refuse(absl::Status status) {
  {
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }
  Fail(std::move(status));
}

void ChatSse::StartUpstream(operations::PreparedChat prepared) {
  call::CallScope scope = call_->scope();
  upstream_started_ = absl::Now();
  upstream_key_ = scope.work.Reserve();
  std::shared_ptr<upstream::Transfer> transfer = prepared.backend->Stream(
      std::move(prepared.chat), call_->context().upstream_options(),
      shared_from_this());
  {
    absl::MutexLock lock(&mu_);
    if (!upstream_done_) transfer_ = transfer;
  }
  scope.work.Attach(upstream_key_, std::move(transfer));
}

bool ChatSse::OnDelta(const upstream::ChatDelta& delta) {
  absl::MutexLock lock(&mu_);
  summary_.Add(delta);
  if (!delta.model.empty()) model_ = delta.model;
  std::optional<v1::ChatChunk> chunk = operations::ChunkForDelta(delta);
  if (!chunk.has_value() || ended_) return true;
  if (first_chunk_) summary_.StampFirst(call_->context().request_id, *chunk);
  QueueLocked(Event(ChatChunkJson(*chunk, call_->context().request_id, model_,
                                  created_, first_chunk_)));
  first_chunk_ = false;
  if (queue_.size() >= kMaxQueued) paused_ = true;
  return !paused_;
}

void ChatSse::OnDone(absl::Status status) {
  call::CallScope scope = call_->scope();
  scope.work.Done(upstream_key_);
  call_->context().BookUpstreamRequest(upstream_started_, absl::Now());
  absl::MutexLock lock(&mu_);
  upstream_done_ = true;
  transfer_.reset();
  if (!status.ok()) summary_.BookCut(call_->context(), prompt_bytes_);
  if (!status.ok() && !started_) {
    ended_ = true;
    mu_.Unlock();
    Fail(status);
    mu_.Lock();
    return;
  }
  const std::string& id = call_->context().request_id;
  if (status.ok()) {
    v1::ChatChunk last = summary_.LastChunk(call_->context());
    if (first_chunk_) summary_.StampFirst(id, last);
    QueueLocked(Event(ChatChunkJson(last, id, model_, created_, first_chunk_)));
    first_chunk_ = false;
    if (include_usage_) {
      QueueLocked(Event(UsageChunkJson(last.usage(), id, model_, created_)));
    }
  }
  const absl::Status shown = call_->End(status);
  if (!status.ok()) {
    // The head is out: OpenAI-style streams report a late error as an event.
    QueueLocked("data: " + ErrorResponse(shown).body + "\n\n");
  } else {
    QueueLocked("data: [DONE]\n\n");
  }
  PumpLocked();
}

void ChatSse::QueueLocked(std::string event) {
  if (ended_) return;
  queue_.push_back(std::move(event));
  PumpLocked();
}

void ChatSse::PumpLocked() {
  if (writing_ || ended_) return;
  if (!started_) {
    started_ = true;
    Headers headers = call_->ResponseHeaders();
    headers.emplace_back("cache-control", "no-cache");
    exchange_->StartStream(200, "text/event-stream", std::move(headers));
  }
  if (queue_.empty()) {
    if (upstream_done_) {
      ended_ = true;
      exchange_->EndStream();
    }
    return;
  }
  writing_ = true;
  std::string next = std::move(queue_.front());
  queue_.pop_front();
  exchange_->Write(std::move(next), [self = shared_from_this()](bool ok) {
    self->OnWritten(ok);
  });
}

void ChatSse::OnWritten(bool ok) {
  std::shared_ptr<upstream::Transfer> resume;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (ok) {
      PumpLocked();
      if (paused_ && queue_.size() < kResumeBelow) {
        paused_ = false;
        resume = transfer_;
      }
    } else {
      ended_ = true;
      queue_.clear();
    }
  }
  // The client went away: stop the upstream; nothing more can be sent.
  if (!ok) return call_->Cancel();
  // Not under mu_: a resumed transfer may deliver deltas at once.
  if (resume != nullptr) resume->Resume();
}

void ChatSse::Fail(absl::Status status) {
  const absl::Status shown = call_->End(status);
  HttpResponse response = ErrorResponse(shown);
  for (auto& header : call_->ResponseHeaders()) {
    response.headers.push_back(std::move(header));
  }
  exchange_->Respond(std::move(response));
}

}  // namespace voxgate::http
