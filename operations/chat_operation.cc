#include "operations/chat_operation.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "operations/api_mapping.h"
#include "operations/audio_for_chat.h"
#include "operations/chat_mapping.h"

namespace voxgate::operations {

absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Routing& routing, std::string& pool) {
  bool has_audio = false;
  for (const upstream::ChatMessage& message : request.messages) {
    for (const upstream::ChatPart& part : message.parts) {
      has_audio |= part.kind == upstream::ChatPart::Kind::kAudio;
    }
  }
  absl::StatusOr<upstream::ChatBackend*> backend =
      has_audio ? routing.ForAudioChat(model) : routing.ForChat(model);
  if (backend.ok()) pool = routing.PoolNameFor(**backend);
  return backend;
}

void ChatOperation::Start(const v1::ChatRequest& request, Done done) {
  request_ = &request;
  done_ = std::move(done);
  absl::StatusOr<upstream::ChatRequest> chat =
      ChatRequestFor(request, to_convert_);
  if (!chat.ok()) return Finish(chat.status());
  absl::StatusOr<upstream::ChatBackend*> backend =
      ChatBackendFor(*chat, request.model(), services_.routing, scope_.pool);
  if (!backend.ok()) return Finish(backend.status());
  backend_ = *backend;
  chat->model = services_.routing.UpstreamModelName(request.model());
  chat_ = *std::move(chat);
  ConvertNext();
}

void ChatOperation::Finish(absl::StatusOr<v1::ChatResponse> result) {
  // The callback may own this operation: run it from the stack.
  Done done = std::move(done_);
  done(std::move(result));
}

void ChatOperation::MeasureThenSend() {
  call::CallContext& call = scope_.call;
  // Transcoded parts were counted as they were decoded; only the parts that
  // pass through as they came are decoded to be counted.
  if (AudioParts(chat_).size() == to_convert_.size()) {
    call.audio_seconds = converted_seconds_;
    if (!to_convert_.empty()) {
      call.preprocess_time = absl::Now() - call.started - call.queue_time;
    }
    return SendUpstream(std::move(chat_));
  }
  absl::Status queued = MeasureChatAudio(
      std::move(chat_), to_convert_, services_.config, call.deadline,
      services_.workers, [this](absl::StatusOr<MeasuredChat> measured) {
        if (!measured.ok()) return Finish(measured.status());
        call::CallContext& call = scope_.call;
        call.audio_seconds = converted_seconds_ + measured->audio_seconds;
        call.preprocess_time = absl::Now() - call.started - call.queue_time;
        SendUpstream(std::move(measured->chat));
      });
  if (!queued.ok()) Finish(queued);
}

void ChatOperation::ConvertNext() {
  // Worker jobs cannot be withdrawn: each step looks for a cancel itself.
  if (scope_.work.cancelled()) {
    return Finish(absl::CancelledError("the caller cancelled the call"));
  }
  call::CallContext& call = scope_.call;
  if (converted_ == to_convert_.size()) return MeasureThenSend();
  const auto [message, part] = to_convert_[converted_];
  // Part indexes match the request's: every content part became one upstream
  // part.
  absl::Status queued = ConvertAudioForChat(
      request_->messages(message).content(part).audio(), services_.config,
      absl::StrCat("messages[", message, "].content[", part, "].audio"),
      call.deadline, services_.workers, services_.decoded_audio,
      [this, message = message,
       part = part](absl::StatusOr<std::pair<std::string, double>> wav) {
        if (!wav.ok()) return Finish(wav.status());
        upstream::ChatPart& out = chat_.messages[message].parts[part];
        out.audio = std::move(wav->first);
        out.audio_format = "wav";
        converted_seconds_ += wav->second;
        ++converted_;
        ConvertNext();
      });
  if (!queued.ok()) Finish(queued);
}

void ChatOperation::SendUpstream(upstream::ChatRequest request) {
  ApplyModelDefaults(services_.config, scope_.pool, request_->model(), request);
  // The answer may end the call before Attach below.
  const std::shared_ptr<void> hold = scope_.hold();
  const absl::Time sent = absl::Now();
  CancelScope& work = scope_.work;
  const CancelScope::Key key = work.Reserve();
  work.Attach(key,
              backend_->Complete(
                  std::move(request), scope_.call.upstream_options(),
                  [this, key,
                   sent](absl::StatusOr<upstream::ChatCompletion> completion) {
                    scope_.work.Done(key);
                    scope_.call.BookUpstreamRequest(sent, absl::Now());
                    if (!completion.ok()) return Finish(completion.status());
                    scope_.call.BookTokens(completion->usage);
                    v1::ChatResponse response;
                    response.set_content(completion->content);
                    response.set_finish_reason(
                        FinishReasonFor(completion->finish_reason));
                    FillUsage(completion->usage, *response.mutable_usage());
                    FillToolCalls(completion->tool_calls,
                                  *response.mutable_tool_calls());
                    response.set_model(completion->model);
                    response.set_request_id(scope_.call.request_id);
                    Finish(std::move(response));
                  }));
}

absl::StatusOr<PreparedChat> PrepareChatStream(
    const v1::ChatRequest& request, const OperationServices& services,
    std::string& pool) {
  std::vector<std::pair<int, int>> to_convert;
  absl::StatusOr<upstream::ChatRequest> chat =
      ChatRequestFor(request, to_convert);
  if (!chat.ok()) return chat.status();
  if (!to_convert.empty()) {
    return absl::InvalidArgumentError(
        "ChatStream takes audio parts as WAV or MP3 only; use Chat for other "
        "encodings");
  }
  absl::StatusOr<upstream::ChatBackend*> backend =
      ChatBackendFor(*chat, request.model(), services.routing, pool);
  if (!backend.ok()) return backend.status();
  chat->model = services.routing.UpstreamModelName(request.model());
  ApplyModelDefaults(services.config, pool, request.model(), *chat);
  return PreparedChat{*backend, *std::move(chat)};
}

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

}  // namespace voxgate::operations
