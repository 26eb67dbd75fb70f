#include "server/chat_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api_mapping.h"
#include "server/audio_for_chat.h"

namespace voxgate::server {

absl::StatusOr<upstream::ChatBackend*> ChatBackendFor(
    const upstream::ChatRequest& request, const std::string& model,
    upstream::Upstreams& upstreams, std::string& pool) {
  bool has_audio = false;
  for (const upstream::ChatMessage& message : request.messages) {
    for (const upstream::ChatPart& part : message.parts) {
      has_audio |= part.kind == upstream::ChatPart::Kind::kAudio;
    }
  }
  absl::StatusOr<upstream::ChatBackend*> backend =
      has_audio ? upstreams.ForAudioChat(model) : upstreams.ForChat(model);
  if (backend.ok()) pool = upstreams.PoolNameFor(**backend);
  return backend;
}

ChatCall::ChatCall(grpc::CallbackServerContext* context,
                   const v1::ChatRequest* request, v1::ChatResponse* response,
                   const Config& config, upstream::Upstreams& upstreams,
                   WorkerPool& workers, const Logger& logger,
                   Admission& admission, CallMetrics& metrics)
    : UnaryCall(context, "Chat", logger, admission, metrics),
      request_(request),
      response_(response),
      config_(config),
      upstreams_(upstreams),
      workers_(workers) {}

void ChatCall::Start() {
  const v1::ChatRequest* request = request_;
  upstream::Upstreams& upstreams = upstreams_;

  std::vector<std::pair<int, int>> to_convert;
  absl::StatusOr<upstream::ChatRequest> chat =
      ChatRequestFor(*request, to_convert);
  if (!chat.ok()) {
    Complete(chat.status());
    return;
  }
  absl::StatusOr<upstream::ChatBackend*> backend =
      ChatBackendFor(*chat, request->model(), upstreams, pool_);
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  backend_ = *backend;
  chat->model = upstreams.UpstreamModelName(request->model());
  if (to_convert.empty()) {
    SendUpstream(*std::move(chat));
    return;
  }

  // Transcode the parts one after another on the workers, then send.
  struct Conversion {
    upstream::ChatRequest chat;
    std::vector<std::pair<int, int>> parts;
    std::size_t next = 0;
  };
  auto conversion =
      std::make_shared<Conversion>(Conversion{*std::move(chat), to_convert, 0});
  auto step = std::make_shared<std::function<void()>>();
  *step = [this, conversion, step, request] {
    const Config& config = config_;
    WorkerPool& workers = workers_;
    bool cancelled;
    {
      absl::MutexLock lock(&mu_);
      cancelled = cancelled_;
    }
    if (cancelled) {
      *step = nullptr;  // break the self-reference
      {
        Complete(absl::CancelledError("the caller cancelled the call"));
        return;
      }
    }
    if (conversion->next == conversion->parts.size()) {
      *step = nullptr;
      const absl::Time started = call_.started;
      call_.preprocess_time = absl::Now() - started;
      {
        SendUpstream(std::move(conversion->chat));
        return;
      }
    }
    const auto [message, part] = conversion->parts[conversion->next];
    // Part indexes match the request's: every content part became one upstream
    // part.
    const std::string field =
        absl::StrCat("messages[", message, "].content[", part, "].audio");
    ConvertAudioForChat(
        request->messages(message).content(part).audio(), config, field,
        call_.deadline, workers,
        [this, conversion, step, message = message,
         part = part](absl::StatusOr<std::pair<std::string, double>> wav) {
          if (!wav.ok()) {
            *step = nullptr;  // break the self-reference
            {
              Complete(wav.status());
              return;
            }
          }
          upstream::ChatPart& out =
              conversion->chat.messages[message].parts[part];
          out.audio = std::move(wav->first);
          out.audio_format = "wav";
          conversion->next++;
          (*step)();
        });
  };
  (*step)();
}

void ChatCall::SendUpstream(upstream::ChatRequest request) {
  Pin pin(this);  // the answer may end the call before transfer_ is stored
  const absl::Time sent = absl::Now();
  std::shared_ptr<upstream::Transfer> transfer = backend_->Complete(
      std::move(request), call_.upstream_options(),
      [this, sent](absl::StatusOr<upstream::ChatCompletion> completion) {
        call_.upstream_time = absl::Now() - sent;
        if (!completion.ok()) {
          Complete(completion.status());
          return;
        }
        response_->set_content(completion->content);
        response_->set_finish_reason(
            FinishReasonFor(completion->finish_reason));
        FillUsage(completion->usage, *response_->mutable_usage());
        response_->set_model(completion->model);
        response_->set_request_id(call_.request_id);
        Complete(absl::OkStatus());
      });
  bool cancel_now;
  {
    absl::MutexLock lock(&mu_);
    transfer_ = transfer;
    cancel_now = cancelled_;
  }
  if (cancel_now) transfer->Cancel();
}

void ChatCall::CancelWork() {
  std::shared_ptr<upstream::Transfer> transfer;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    transfer = transfer_;
  }
  // The pending step finishes the call: the transfer's completion, or the audio
  // conversion, which sees the flag. Completing here would free this reactor
  // under the conversion's feet.
  if (transfer != nullptr) transfer->Cancel();
}

}  // namespace voxgate::server
