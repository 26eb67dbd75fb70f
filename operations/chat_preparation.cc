#include "operations/chat_preparation.h"

#include "absl/strings/str_cat.h"
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

void ChatPreparation::Start(const v1::ChatRequest& request, Done done) {
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

void ChatPreparation::Finish(absl::StatusOr<PreparedChat> result) {
  // The callback may own this preparation: run it from the stack.
  Done done = std::move(done_);
  done(std::move(result));
}

void ChatPreparation::ConvertNext() {
  // Worker jobs cannot be withdrawn: each step looks for a cancel itself.
  if (scope_.work.cancelled()) {
    return Finish(absl::CancelledError("the caller cancelled the call"));
  }
  if (converted_ == to_convert_.size()) return Measure();
  const auto [message, part] = to_convert_[converted_];
  // Part indexes match the request's: every content part became one upstream
  // part.
  absl::Status queued = ConvertAudioForChat(
      request_->messages(message).content(part).audio(), services_.config,
      absl::StrCat("messages[", message, "].content[", part, "].audio"),
      scope_.call.deadline, services_.timers.clock(), services_.workers,
      services_.decoded_audio,
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

void ChatPreparation::Measure() {
  if (AudioParts(chat_).size() == to_convert_.size()) {
    scope_.call.audio_seconds = converted_seconds_;
    return Prepared(std::move(chat_));
  }
  absl::Status queued = MeasureChatAudio(
      std::move(chat_), to_convert_, services_.config, scope_.call.deadline,
      services_.timers.clock(), services_.workers,
      [this](absl::StatusOr<MeasuredChat> measured) {
        if (!measured.ok()) return Finish(measured.status());
        scope_.call.audio_seconds =
            converted_seconds_ + measured->audio_seconds;
        Prepared(std::move(measured->chat));
      });
  if (!queued.ok()) Finish(queued);
}

void ChatPreparation::Prepared(upstream::ChatRequest chat) {
  call::CallContext& call = scope_.call;
  if (!AudioParts(chat).empty()) {
    call.preprocess_time = absl::Now() - call.started - call.queue_time;
  }
  ApplyModelDefaults(services_.config, scope_.pool, request_->model(), chat);
  Finish(PreparedChat{backend_, std::move(chat)});
}

}  // namespace voxgate::operations
