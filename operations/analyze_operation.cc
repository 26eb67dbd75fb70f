#include "operations/analyze_operation.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "operations/api_mapping.h"
#include "operations/audio_for_chat.h"
#include "operations/chat_mapping.h"

namespace voxgate::operations {
namespace {

constexpr std::size_t kMaxInstruction = 32768;
constexpr int kMaxHistory = 1023;

void AddUsage(const upstream::Usage& add, upstream::Usage& total) {
  total.audio_seconds += add.audio_seconds;
  total.input_tokens += add.input_tokens;
  total.audio_tokens += add.audio_tokens;
  total.output_tokens += add.output_tokens;
  total.total_tokens += add.total_tokens;
}

}  // namespace

void AnalyzeOperation::Start(v1::AnalyzeRequest& request_in, Done done) {
  request_ = &request_in;
  done_ = std::move(done);
  const v1::AnalyzeRequest* request = request_;
  const Config& config = config_;
  upstream::Routing& upstreams = routing_;

  if (request->instruction().empty() ||
      request->instruction().size() > kMaxInstruction) {
    return Finish(absl::InvalidArgumentError(absl::StrCat(
        "instruction: 1 to ", kMaxInstruction, " characters are required")));
  }
  if (absl::Status valid =
          DecodeOptionsFor(request->audio(), config, "audio").status();
      !valid.ok()) {
    return Finish(valid);
  }
  absl::StatusOr<upstream::ChatParams> params =
      ChatParamsFor(request->generation(), "generation");
  if (!params.ok()) {
    Finish(params.status());
    return;
  }
  params_ = *std::move(params);
  // Admission checked request.model (the chat model); the transcription
  // model of a CASCADE is the tenant's to choose only among its models too.
  if (scope_.call.grant != nullptr && request->has_recognition()) {
    if (absl::Status allowed =
            scope_.call.grant->CheckModel(request->recognition().model());
        !allowed.ok()) {
      return Finish(allowed);
    }
  }
  if (absl::Status base = BuildConversationBase(); !base.ok()) {
    return Finish(base);
  }
  response_.set_request_id(scope_.call.request_id);

  v1::AnalyzeMode mode = request->mode();
  if (mode == v1::ANALYZE_MODE_UNSPECIFIED) {
    mode = upstreams.ForAudioChat(request->model()).ok()
               ? v1::ANALYZE_MODE_DIRECT
               : v1::ANALYZE_MODE_CASCADE;
  }
  response_.set_mode(mode);
  if (mode == v1::ANALYZE_MODE_CASCADE || request->include_transcript()) {
    Transcribe();
  } else {
    AskDirect();
  }
}

absl::Status AnalyzeOperation::BuildConversationBase() {
  if (request_->history_size() > kMaxHistory) {
    return absl::InvalidArgumentError(
        absl::StrCat("history: at most ", kMaxHistory, " messages"));
  }
  base_.model = routing_.UpstreamModelName(request_->model());
  if (!request_->system_prompt().empty()) {
    base_.messages.push_back(upstream::ChatMessage::Of(
        "system", {upstream::ChatPart::Text(request_->system_prompt())}));
  }
  std::vector<std::pair<int, int>> to_convert;
  if (absl::Status history =
          AppendMessages(request_->history(), "history", base_, to_convert);
      !history.ok()) {
    return history;
  }
  if (!to_convert.empty()) {
    const auto [message, part] = to_convert.front();
    return absl::InvalidArgumentError(absl::StrCat(
        "history: audio parts must be WAV or MP3 (message ", message, ", part ",
        part, "); the audio field takes any format"));
  }
  base_.params = params_;
  return SetTools(request_->tools(), request_->tool_choice(),
                  request_->has_tool_choice(), std::nullopt, "", base_);
}

void AnalyzeOperation::Transcribe() {
  transcription_started_ = absl::Now();
  const v1::RecognitionConfig& recognition = request_->recognition();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      routing_.ForTranscription(recognition.model());
  if (!backend.ok()) {
    Finish(backend.status());
    return;
  }
  std::vector<std::string> warnings;
  absl::StatusOr<TranscriptionJobOptions> options = TranscriptionOptionsFor(
      recognition, request_->audio(), config_, **backend,
      routing_.PoolNameFor(**backend), warnings);
  if (!options.ok()) {
    Finish(options.status());
    return;
  }
  for (std::string& warning : warnings)
    response_.add_warnings(std::move(warning));
  options->request.model = routing_.UpstreamModelName(recognition.model());
  options->call = scope_.call.upstream_options();
  options->decoded_budget = decoded_budget_;
  // The job may end the call before it is attached.
  const std::shared_ptr<void> hold = scope_.hold();
  scope_.work.Run([&](std::function<void()> done) {
    return TranscriptionJob::Start(
        // DIRECT asks with the audio after transcribing it: keep it.
        response_.mode() == v1::ANALYZE_MODE_DIRECT
            ? request_->audio().content()
            : std::move(*request_->mutable_audio()->mutable_content()),
        *std::move(options), **backend, workers_, timers_,
        [this, done](absl::StatusOr<TranscriptionOutcome> outcome) {
          done();
          AfterTranscript(std::move(outcome));
        });
  });
}

void AnalyzeOperation::AfterTranscript(
    absl::StatusOr<TranscriptionOutcome> outcome) {
  if (!outcome.ok()) {
    Finish(outcome.status());
    return;
  }
  *response_.mutable_transcription_time() =
      ToProtoDuration(absl::Now() - transcription_started_);
  scope_.call.queue_time += outcome->queue_time;
  scope_.call.preprocess_time += outcome->preprocess_time;
  scope_.call.upstream_time += outcome->upstream_time;
  scope_.call.audio_seconds = outcome->audio_seconds;
  scope_.call.chunks = outcome->chunks;
  AddUsage(outcome->usage, usage_);
  response_.set_transcript(outcome->transcript.text);
  if (scope_.work.cancelled()) {
    Finish(absl::CancelledError("the caller cancelled the call"));
    return;
  }
  if (response_.mode() == v1::ANALYZE_MODE_DIRECT) {
    AskDirect();
    return;
  }

  absl::StatusOr<upstream::ChatBackend*> backend =
      routing_.ForChat(request_->model());
  if (!backend.ok()) {
    Finish(backend.status());
    return;
  }
  scope_.pool = routing_.PoolNameFor(**backend);
  Ask(**backend, Conversation({upstream::ChatPart::Text(absl::StrCat(
                     request_->instruction(), "\n\nTranscript:\n\"\"\"\n",
                     outcome->transcript.text, "\n\"\"\""))}));
}

void AnalyzeOperation::AskDirect() {
  absl::StatusOr<upstream::ChatBackend*> backend =
      routing_.ForAudioChat(request_->model());
  if (!backend.ok()) {
    Finish(backend.status());
    return;
  }
  scope_.pool = routing_.PoolNameFor(**backend);
  const absl::Time started = absl::Now();
  absl::Status queued = ConvertAudioForChat(
      request_->audio(), config_, "audio", scope_.call.deadline,
      timers_.clock(), workers_, decoded_budget_,
      [this, started,
       backend = *backend](absl::StatusOr<std::pair<std::string, double>> wav) {
        if (!wav.ok()) {
          Finish(wav.status());
          return;
        }
        scope_.call.preprocess_time += absl::Now() - started;
        scope_.call.audio_seconds = wav->second;
        if (scope_.work.cancelled()) {
          Finish(absl::CancelledError("the caller cancelled the call"));
          return;
        }
        usage_.audio_seconds += wav->second;
        Ask(*backend,
            Conversation(
                {upstream::ChatPart::Text(request_->instruction()),
                 upstream::ChatPart::Audio(std::move(wav->first), "wav")}));
      });
  if (!queued.ok()) Finish(queued);
}

upstream::ChatRequest AnalyzeOperation::Conversation(
    std::vector<upstream::ChatPart> user_parts) const {
  upstream::ChatRequest chat = base_;
  chat.messages.push_back(
      upstream::ChatMessage::Of("user", std::move(user_parts)));
  return chat;
}

void AnalyzeOperation::Ask(upstream::ChatBackend& backend,
                           upstream::ChatRequest request) {
  ApplyModelDefaults(config_, scope_.pool, request_->model(), request);
  // The answer may end the call before it is attached.
  const std::shared_ptr<void> hold = scope_.hold();
  const absl::Time sent = absl::Now();
  scope_.work.Run([&](std::function<void()> done) {
    return backend.Complete(
        std::move(request), scope_.call.upstream_options(),
        [this, done,
         sent](absl::StatusOr<upstream::ChatCompletion> completion) {
          done();
          scope_.call.BookUpstreamRequest(sent, absl::Now());
          *response_.mutable_model_time() = ToProtoDuration(absl::Now() - sent);
          if (!completion.ok()) {
            Finish(completion.status());
            return;
          }
          AddUsage(completion->usage, usage_);
          scope_.call.BookTokens(completion->usage);
          response_.set_answer(completion->content);
          FillToolCalls(completion->tool_calls,
                        *response_.mutable_tool_calls());
          response_.set_finish_reason(
              FinishReasonFor(completion->finish_reason));
          response_.set_model(completion->model);
          FillUsage(usage_, *response_.mutable_usage());
          Finish(std::move(response_));
        });
  });
}

void AnalyzeOperation::Finish(absl::StatusOr<v1::AnalyzeResponse> result) {
  // The callback may own this operation: run it from the stack.
  Done done = std::move(done_);
  done(std::move(result));
}

}  // namespace voxgate::operations
