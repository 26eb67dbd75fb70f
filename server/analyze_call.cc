#include "server/analyze_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "operations/api_mapping.h"
#include "operations/audio_for_chat.h"
#include "operations/chat_mapping.h"

namespace voxgate::server {
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

AnalyzeCall::AnalyzeCall(grpc::CallbackServerContext* context,
                         const grpc::ByteBuffer* request,
                         grpc::ByteBuffer* response,
                         const call::CallServices& services,
                         const operations::OperationServices& operations)
    : TypedUnaryCall(context, request, response,
                     call::kAnalyze, services),
      config_(operations.config),
      routing_(operations.routing),
      workers_(operations.workers),
      timers_(operations.timers),
      decoded_budget_(operations.decoded_audio) {}

void AnalyzeCall::Start() {
  const v1::AnalyzeRequest* request = &request_;
  const Config& config = config_;
  upstream::Routing& upstreams = routing_;

  if (request->instruction().empty() ||
      request->instruction().size() > kMaxInstruction) {
    return Complete(absl::InvalidArgumentError(absl::StrCat(
        "instruction: 1 to ", kMaxInstruction, " characters are required")));
  }
  if (absl::Status valid =
          operations::DecodeOptionsFor(request->audio(), config, "audio").status();
      !valid.ok()) {
    return Complete(valid);
  }
  absl::StatusOr<upstream::ChatParams> params =
      operations::ChatParamsFor(request->generation(), "generation");
  if (!params.ok()) {
    Complete(params.status());
    return;
  }
  params_ = *std::move(params);
  // Admission checked request.model (the chat model); the transcription
  // model of a CASCADE is the tenant's to choose only among its models too.
  if (call_.grant != nullptr && request->has_recognition()) {
    if (absl::Status allowed =
            call_.grant->CheckModel(request->recognition().model());
        !allowed.ok()) {
      return Complete(allowed);
    }
  }
  if (absl::Status base = BuildConversationBase(); !base.ok()) {
    return Complete(base);
  }
  response_.set_request_id(call_.request_id);

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

absl::Status AnalyzeCall::BuildConversationBase() {
  if (request_.history_size() > kMaxHistory) {
    return absl::InvalidArgumentError(
        absl::StrCat("history: at most ", kMaxHistory, " messages"));
  }
  base_.model = routing_.UpstreamModelName(request_.model());
  if (!request_.system_prompt().empty()) {
    base_.messages.push_back(upstream::ChatMessage::Of(
        "system", {upstream::ChatPart::Text(request_.system_prompt())}));
  }
  std::vector<std::pair<int, int>> to_convert;
  if (absl::Status history =
          operations::AppendMessages(request_.history(), "history", base_, to_convert);
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
  return operations::SetTools(request_.tools(), request_.tool_choice(),
                  request_.has_tool_choice(), std::nullopt, "", base_);
}

void AnalyzeCall::Transcribe() {
  transcription_started_ = absl::Now();
  const v1::RecognitionConfig& recognition = request_.recognition();
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      routing_.ForTranscription(recognition.model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  std::vector<std::string> warnings;
  absl::StatusOr<operations::TranscriptionJobOptions> options =
      operations::TranscriptionOptionsFor(recognition, request_.audio(), config_, **backend,
                              routing_.PoolNameFor(**backend), warnings);
  if (!options.ok()) {
    Complete(options.status());
    return;
  }
  for (std::string& warning : warnings)
    response_.add_warnings(std::move(warning));
  options->request.model = routing_.UpstreamModelName(recognition.model());
  options->call = call_.upstream_options();
  options->decoded_budget = decoded_budget_;
  Pin pin(this);  // the job may end the call before Attach below
  const CancelScope::Key key = work_.Reserve();
  work_.Attach(
      key,
      operations::TranscriptionJob::Start(
          // DIRECT asks with the audio after transcribing it: keep it.
          response_.mode() == v1::ANALYZE_MODE_DIRECT
              ? request_.audio().content()
              : std::move(*request_.mutable_audio()->mutable_content()),
          *std::move(options), **backend, workers_,
          timers_, [this, key](absl::StatusOr<operations::TranscriptionOutcome> outcome) {
            work_.Done(key);
            AfterTranscript(std::move(outcome));
          }));
}

void AnalyzeCall::AfterTranscript(
    absl::StatusOr<operations::TranscriptionOutcome> outcome) {
  if (!outcome.ok()) {
    Complete(outcome.status());
    return;
  }
  *response_.mutable_transcription_time() =
      ToProtoDuration(absl::Now() - transcription_started_);
  call_.queue_time += outcome->queue_time;
  call_.preprocess_time += outcome->preprocess_time;
  call_.upstream_time += outcome->upstream_time;
  call_.audio_seconds = outcome->audio_seconds;
  call_.chunks = outcome->chunks;
  AddUsage(outcome->usage, usage_);
  response_.set_transcript(outcome->transcript.text);
  if (work_.cancelled()) {
    Complete(absl::CancelledError("the caller cancelled the call"));
    return;
  }
  if (response_.mode() == v1::ANALYZE_MODE_DIRECT) {
    AskDirect();
    return;
  }

  absl::StatusOr<upstream::ChatBackend*> backend =
      routing_.ForChat(request_.model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  pool_ = routing_.PoolNameFor(**backend);
  Ask(**backend, Conversation({upstream::ChatPart::Text(absl::StrCat(
                     request_.instruction(), "\n\nTranscript:\n\"\"\"\n",
                     outcome->transcript.text, "\n\"\"\""))}));
}

void AnalyzeCall::AskDirect() {
  absl::StatusOr<upstream::ChatBackend*> backend =
      routing_.ForAudioChat(request_.model());
  if (!backend.ok()) {
    Complete(backend.status());
    return;
  }
  pool_ = routing_.PoolNameFor(**backend);
  const absl::Time started = absl::Now();
  absl::Status queued = operations::ConvertAudioForChat(
      request_.audio(), config_, "audio", call_.deadline, workers_,
      decoded_budget_,
      [this, started,
       backend = *backend](absl::StatusOr<std::pair<std::string, double>> wav) {
        if (!wav.ok()) {
          Complete(wav.status());
          return;
        }
        call_.preprocess_time += absl::Now() - started;
        call_.audio_seconds = wav->second;
        if (work_.cancelled()) {
          Complete(absl::CancelledError("the caller cancelled the call"));
          return;
        }
        usage_.audio_seconds += wav->second;
        Ask(*backend,
            Conversation(
                {upstream::ChatPart::Text(request_.instruction()),
                 upstream::ChatPart::Audio(std::move(wav->first), "wav")}));
      });
  if (!queued.ok()) Complete(queued);
}

upstream::ChatRequest AnalyzeCall::Conversation(
    std::vector<upstream::ChatPart> user_parts) const {
  upstream::ChatRequest chat = base_;
  chat.messages.push_back(
      upstream::ChatMessage::Of("user", std::move(user_parts)));
  return chat;
}

void AnalyzeCall::Ask(upstream::ChatBackend& backend,
                      upstream::ChatRequest request) {
  operations::ApplyModelDefaults(config_, pool_, request_.model(), request);
  Pin pin(this);  // the answer may end the call before Attach below
  const absl::Time sent = absl::Now();
  const CancelScope::Key key = work_.Reserve();
  std::shared_ptr<upstream::Transfer> transfer = backend.Complete(
      std::move(request), call_.upstream_options(),
      [this, key, sent](absl::StatusOr<upstream::ChatCompletion> completion) {
        work_.Done(key);
        call_.BookUpstreamRequest(sent, absl::Now());
        *response_.mutable_model_time() = ToProtoDuration(absl::Now() - sent);
        if (!completion.ok()) {
          Complete(completion.status());
          return;
        }
        AddUsage(completion->usage, usage_);
        call_.BookTokens(completion->usage);
        response_.set_answer(completion->content);
        operations::FillToolCalls(completion->tool_calls, *response_.mutable_tool_calls());
        response_.set_finish_reason(operations::FinishReasonFor(completion->finish_reason));
        response_.set_model(completion->model);
        operations::FillUsage(usage_, *response_.mutable_usage());
        Complete(absl::OkStatus());
      });
  work_.Attach(key, std::move(transfer));
}

}  // namespace voxgate::server
