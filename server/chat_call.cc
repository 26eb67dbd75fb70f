#include "server/chat_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api_mapping.h"
#include "server/audio_for_chat.h"
#include "server/chat_mapping.h"

namespace voxgate::server {

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

ChatCall::ChatCall(grpc::CallbackServerContext* context,
                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                   const CallServices& services, const Config& config,
                   upstream::Routing& routing, WorkerPool& workers)
    : TypedUnaryCall(context, request, response,
                     {"Chat", MethodClass::kGeneral}, services),
      config_(config),
      routing_(routing),
      workers_(workers) {}

void ChatCall::Start() {
  absl::StatusOr<upstream::ChatRequest> chat =
      ChatRequestFor(request_, to_convert_);
  if (!chat.ok()) return Complete(chat.status());
  absl::StatusOr<upstream::ChatBackend*> backend =
      ChatBackendFor(*chat, request_.model(), routing_, pool_);
  if (!backend.ok()) return Complete(backend.status());
  backend_ = *backend;
  chat->model = routing_.UpstreamModelName(request_.model());
  if (to_convert_.empty()) return SendUpstream(*std::move(chat));
  chat_ = *std::move(chat);
  ConvertNext();
}

void ChatCall::ConvertNext() {
  // Worker jobs cannot be withdrawn: each step looks for a cancel itself.
  if (work_.cancelled()) {
    return Complete(absl::CancelledError("the caller cancelled the call"));
  }
  if (converted_ == to_convert_.size()) {
    call_.preprocess_time = absl::Now() - call_.started - call_.queue_time;
    return SendUpstream(std::move(chat_));
  }
  const auto [message, part] = to_convert_[converted_];
  // Part indexes match the request's: every content part became one upstream
  // part.
  absl::Status queued = ConvertAudioForChat(
      request_.messages(message).content(part).audio(), config_,
      absl::StrCat("messages[", message, "].content[", part, "].audio"),
      call_.deadline, workers_,
      [this, message = message,
       part = part](absl::StatusOr<std::pair<std::string, double>> wav) {
        if (!wav.ok()) return Complete(wav.status());
        upstream::ChatPart& out = chat_.messages[message].parts[part];
        out.audio = std::move(wav->first);
        out.audio_format = "wav";
        ++converted_;
        ConvertNext();
      });
  if (!queued.ok()) Complete(queued);
}

void ChatCall::SendUpstream(upstream::ChatRequest request) {
  ApplyModelDefaults(config_, pool_, request_.model(), request);
  Pin pin(this);  // the answer may end the call before Attach below
  const absl::Time sent = absl::Now();
  const CancelScope::Key key = work_.Reserve();
  work_.Attach(key,
               backend_->Complete(
                   std::move(request), call_.upstream_options(),
                   [this, key,
                    sent](absl::StatusOr<upstream::ChatCompletion> completion) {
                     work_.Done(key);
                     call_.BookUpstreamRequest(sent, absl::Now());
                     if (!completion.ok()) return Complete(completion.status());
                     response_.set_content(completion->content);
                     response_.set_finish_reason(
                         FinishReasonFor(completion->finish_reason));
                     FillUsage(completion->usage, *response_.mutable_usage());
                     FillToolCalls(completion->tool_calls,
                                   *response_.mutable_tool_calls());
                     response_.set_model(completion->model);
                     response_.set_request_id(call_.request_id);
                     Complete(absl::OkStatus());
                   }));
}

}  // namespace voxgate::server
