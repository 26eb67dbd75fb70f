#include "server/analyze_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api_mapping.h"
#include "server/audio_for_chat.h"

namespace voxgate::server {
namespace {

constexpr std::size_t kMaxInstruction = 32768;

void AddUsage(const upstream::Usage& add, upstream::Usage& total) {
  total.audio_seconds += add.audio_seconds;
  total.input_tokens += add.input_tokens;
  total.audio_tokens += add.audio_tokens;
  total.output_tokens += add.output_tokens;
  total.total_tokens += add.total_tokens;
}

}  // namespace

AnalyzeCall::AnalyzeCall(grpc::CallbackServerContext* context,
                         const v1::AnalyzeRequest* request,
                         v1::AnalyzeResponse* response, const Config& config,
                         upstream::Upstreams& upstreams,
                         WorkerPool& workers, const Logger& logger,
                         Admission& admission, CallMetrics& metrics)
    : UnaryCall(context, "Analyze", logger, admission, metrics),
      request_(request),
      response_(response),
      config_(config),
      upstreams_(upstreams),
      workers_(workers) {}

void AnalyzeCall::Start() {
  const v1::AnalyzeRequest* request = request_;
  const Config& config = config_;
  upstream::Upstreams& upstreams = upstreams_;

  if (request->instruction().empty() ||
      request->instruction().size() > kMaxInstruction) {
    {
      Complete(absl::InvalidArgumentError(absl::StrCat(
          "instruction: 1 to ", kMaxInstruction, " characters are required")));
      return;
    }
  }
  if (absl::Status valid =
          DecodeOptionsFor(request->audio(), config, "audio").status();
      !valid.ok()) {
    {
      Complete(valid);
      return;
    }
  }
  absl::StatusOr<upstream::ChatParams> params =
      ChatParamsFor(request->generation(), "generation");
  if (!params.ok()) {
    Complete(params.status());
    return;
  }
  params_ = *std::move(params);
  response_->set_request_id(call_.request_id);

  v1::AnalyzeMode mode = request->mode();
  if (mode == v1::ANALYZE_MODE_UNSPECIFIED) {
    mode = upstreams.ForAudioChat(request->model()).ok()
               ? v1::ANALYZE_MODE_DIRECT
               : v1::ANALYZE_MODE_CASCADE;
  }
  response_->set_mode(mode);
  if (mode == v1::ANALYZE_MODE_CASCADE || request->include_transcript()) {
    Transcribe();
  } else {
    AskDirect();
  }
}

bool AnalyzeCall::Cancelled() {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void AnalyzeCall::Transcribe() {
  const v1::RecognitionConfig& recognition = request_->recognition();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      upstreams_.ForTranscription(recognition.model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  std::vector<std::string> warnings;
  absl::StatusOr<TranscriptionJobOptions> options = TranscriptionOptionsFor(
      recognition, request_->audio(), config_, **backend,
      upstreams_.PoolNameFor(**backend), warnings);
  if (!options.ok()) {
    Complete(options.status());
    return;
  }
  for (std::string& warning : warnings)
    response_->add_warnings(std::move(warning));
  options->request.model = upstreams_.UpstreamModelName(recognition.model());
  options->call = call_.upstream_options();
  Pin pin(this);  // the job may end the call before job_ is stored
  auto job = TranscriptionJob::Start(
      request_->audio().content(), *std::move(options), **backend, workers_,
      [this](absl::StatusOr<TranscriptionOutcome> outcome) {
        AfterTranscript(std::move(outcome));
      });
  bool cancel_now;
  {
    absl::MutexLock lock(&mu_);
    job_ = job;
    cancel_now = cancelled_;
  }
  if (cancel_now) job->Cancel();
}

void AnalyzeCall::AfterTranscript(
    absl::StatusOr<TranscriptionOutcome> outcome) {
  if (!outcome.ok()) {
    Complete(outcome.status());
    return;
  }
  call_.queue_time += outcome->queue_time;
  call_.preprocess_time += outcome->preprocess_time;
  call_.upstream_time += outcome->upstream_time;
  call_.audio_seconds = outcome->audio_seconds;
  call_.chunks = outcome->chunks;
  AddUsage(outcome->usage, usage_);
  response_->set_transcript(outcome->transcript.text);
  if (Cancelled()) {
    Complete(absl::CancelledError("the caller cancelled the call"));
    return;
  }
  if (response_->mode() == v1::ANALYZE_MODE_DIRECT) {
    AskDirect();
    return;
  }

  absl::StatusOr<upstream::ChatBackend*> backend =
      upstreams_.ForChat(request_->model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  pool_ = upstreams_.PoolNameFor(**backend);
  Ask(**backend, Conversation({upstream::ChatPart::Text(absl::StrCat(
                     request_->instruction(), "\n\nTranscript:\n\"\"\"\n",
                     outcome->transcript.text, "\n\"\"\""))}));
}

void AnalyzeCall::AskDirect() {
  absl::StatusOr<upstream::ChatBackend*> backend =
      upstreams_.ForAudioChat(request_->model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  pool_ = upstreams_.PoolNameFor(**backend);
  const absl::Time started = absl::Now();
  ConvertAudioForChat(
      request_->audio(), config_, "audio", call_.deadline, workers_,
      [this, started,
       backend = *backend](absl::StatusOr<std::pair<std::string, double>> wav) {
        if (!wav.ok()) {
          Complete(wav.status());
          return;
        }
        call_.preprocess_time += absl::Now() - started;
        call_.audio_seconds = wav->second;
        if (Cancelled()) {
          Complete(absl::CancelledError("the caller cancelled the call"));
          return;
        }
        usage_.audio_seconds += wav->second;
        Ask(*backend,
            Conversation(
                {upstream::ChatPart::Text(request_->instruction()),
                 upstream::ChatPart::Audio(std::move(wav->first), "wav")}));
      });
}

upstream::ChatRequest AnalyzeCall::Conversation(
    std::vector<upstream::ChatPart> user_parts) const {
  upstream::ChatRequest chat;
  chat.model = upstreams_.UpstreamModelName(request_->model());
  if (!request_->system_prompt().empty()) {
    chat.messages.push_back(upstream::ChatMessage::Of(
        "system", {upstream::ChatPart::Text(request_->system_prompt())}));
  }
  chat.messages.push_back(
      upstream::ChatMessage::Of("user", std::move(user_parts)));
  chat.params = params_;
  return chat;
}

void AnalyzeCall::Ask(upstream::ChatBackend& backend,
                      upstream::ChatRequest request) {
  Pin pin(this);  // the answer may end the call before transfer_ is stored
  const absl::Time sent = absl::Now();
  std::shared_ptr<upstream::Transfer> transfer = backend.Complete(
      std::move(request), call_.upstream_options(),
      [this, sent](absl::StatusOr<upstream::ChatCompletion> completion) {
        call_.upstream_time += absl::Now() - sent;
        if (!completion.ok()) {
          Complete(completion.status());
          return;
        }
        AddUsage(completion->usage, usage_);
        response_->set_answer(completion->content);
        response_->set_finish_reason(
            FinishReasonFor(completion->finish_reason));
        response_->set_model(completion->model);
        FillUsage(usage_, *response_->mutable_usage());
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

void AnalyzeCall::CancelWork() {
  std::shared_ptr<TranscriptionJob> job;
  std::shared_ptr<upstream::Transfer> transfer;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    job = job_;
    transfer = transfer_;
  }
  // The step in progress finishes the call (see ChatCall::CancelWork).
  if (transfer != nullptr) {
    transfer->Cancel();
  } else if (job != nullptr) {
    job->Cancel();
  }
}

}  // namespace voxgate::server
