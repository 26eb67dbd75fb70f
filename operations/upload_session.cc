#include "operations/upload_session.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "operations/api_mapping.h"

namespace voxgate::operations {
namespace {

using ::google::protobuf::util::TimeUtil;

google::protobuf::Duration SecondsDuration(double seconds) {
  return TimeUtil::MillisecondsToDuration(static_cast<int64_t>(seconds * 1000));
}

// An MP4/M4A file: its first box is "ftyp".
}  // namespace

UploadSession::UploadSession(const OperationServices& services,
                             call::CallContext& call, std::string& pool,
                             Output& output)
    : services_(services), call_(call), pool_(pool), output_(output) {}

UploadSession::~UploadSession() {
  if (spool_fd_ >= 0) close(spool_fd_);
  if (services_.spool != nullptr) services_.spool->Give(budgeted_bytes_);
}

void UploadSession::Configure(const v1::TranscribeUploadConfig& config) {
  Lock lock(this);
  asked_for_input_ = false;
  if (ended_ || !failure_.ok()) return;
  if (configured_) {
    return FailLocked(absl::FailedPreconditionError(
        "config: sent twice; the config is the first message only"));
  }
  const v1::RecognitionConfig& recognition = config.config();
  // Admission could not see the model: it comes in this message.
  if (call_.grant != nullptr) {
    absl::Status allowed = call_.grant->CheckModel(recognition.model());
    if (!allowed.ok()) return FailLocked(std::move(allowed));
  }
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      services_.routing.ForTranscription(recognition.model());
  if (!backend.ok()) return FailLocked(backend.status());
  pool_ = services_.routing.PoolNameFor(**backend);
  v1::AudioInput described;
  *described.mutable_format() = config.format();
  absl::StatusOr<TranscriptionJobOptions> options = TranscriptionOptionsFor(
      recognition, described, services_.config, **backend, pool_, warnings_,
      AudioContent::kUploaded);
  if (!options.ok()) return FailLocked(options.status());
  const int64_t limit = services_.config.audio().max_audio_bytes();
  if (config.total_bytes() < 0 || config.total_bytes() > limit) {
    return FailLocked(absl::InvalidArgumentError(
        absl::StrCat("total_bytes: ", config.total_bytes(), " is outside 0 to ",
                     limit, " (audio.max_audio_bytes)")));
  }
  options_ = *std::move(options);
  options_.request.model =
      services_.routing.UpstreamModelName(recognition.model());
  options_.call = call_.upstream_options();
  if (options_.preprocess.decode.target_channels != 1) {
    warnings_.push_back(
        "config.preprocessing.target_channel_count: uploads go to the "
        "backend mono");
  }
  rate_ = options_.preprocess.decode.target_sample_rate;
  backend_ = *backend;
  recognition_ = recognition;
  format_ = config.format();
  declared_bytes_ = config.total_bytes();
  segmenter_ =
      std::make_unique<audio::StreamSegmenter>(rate_, options_.segment);
  const audio::DecodeOptions& decode = options_.preprocess.decode;
  if (decode.format != audio::InputFormat::kAuto) {
    const audio::RawEncoding encoding =
        decode.format == audio::InputFormat::kMulaw ? audio::RawEncoding::kMulaw
        : decode.format == audio::InputFormat::kAlaw
            ? audio::RawEncoding::kAlaw
            : audio::RawEncoding::kS16le;
    auto raw = audio::StreamResampler::Create(
        encoding, decode.input_sample_rate, decode.input_channels, rate_);
    if (!raw.ok()) return FailLocked(raw.status());
    raw_ = *std::move(raw);
    input_ = Input::kRaw;
  }
  configured_ = true;
  ContinueLocked();
}

void UploadSession::Push(std::string audio) {
  Lock lock(this);
  asked_for_input_ = false;
  if (ended_ || !failure_.ok() || input_done_) return MaybeEndLocked();
  if (!configured_) {
    return FailLocked(absl::FailedPreconditionError(
        "the first message must be a config; audio_content came first"));
  }
  if (audio.size() > kMaxPiece) {
    return FailLocked(absl::InvalidArgumentError(absl::StrCat(
        "audio_content: ", audio.size(), " bytes in one message; at most ",
        kMaxPiece, " (1 MiB) each, send smaller pieces")));
  }
  bytes_received_ += static_cast<int64_t>(audio.size());
  const int64_t limit = services_.config.audio().max_audio_bytes();
  if (bytes_received_ > limit) {
    return FailLocked(absl::InvalidArgumentError(
        absl::StrCat("audio_content: the upload passed ", limit,
                     " bytes, the limit (audio.max_audio_bytes)")));
  }
  if (declared_bytes_ > 0 && bytes_received_ > declared_bytes_) {
    return FailLocked(absl::InvalidArgumentError(
        absl::StrCat("audio_content: more bytes than config.total_bytes ",
                     declared_bytes_)));
  }
  if (audio.empty()) return ContinueLocked();
  SubmitLocked(std::move(audio), false);
}

void UploadSession::EndOfInput() {
  Lock lock(this);
  asked_for_input_ = false;
  if (ended_ || !failure_.ok() || input_done_) return MaybeEndLocked();
  input_done_ = true;
  if (!configured_) {
    return FailLocked(absl::FailedPreconditionError(
        "the upload ended before its config message"));
  }
  if (bytes_received_ == 0) {
    return FailLocked(
        absl::InvalidArgumentError("audio_content: the upload held no audio"));
  }
  if (declared_bytes_ > 0 && bytes_received_ != declared_bytes_) {
    return FailLocked(absl::InvalidArgumentError(
        absl::StrCat("audio_content: the upload ended after ", bytes_received_,
                     " bytes of config.total_bytes ", declared_bytes_)));
  }
  ContinueLocked();
}

void UploadSession::Fail(absl::Status status) {
  Lock lock(this);
  FailLocked(std::move(status));
}

void UploadSession::SubmitLocked(std::string bytes, bool end_of_input) {
  processing_ = true;
  absl::Status queued = services_.workers.TrySubmit([self = shared_from_this(),
                                                     bytes = std::move(bytes),
                                                     end_of_input]() mutable {
    self->Finished(self->Process(std::move(bytes), end_of_input));
  });
  if (!queued.ok()) {
    processing_ = false;
    FailLocked(queued);
  }
}

void UploadSession::Finished(JobResult result) {
  Lock lock(this);
  processing_ = false;
  if (ended_ || !failure_.ok()) return MaybeEndLocked();
  if (!result.status.ok()) return FailLocked(std::move(result.status));
  call_.preprocess_time += result.took;
  frames_seen_ = result.frames_seen;
  const bool cut_any = !result.chunks.empty();
  for (CutChunk& chunk : result.chunks) {
    ChunkTranscript transcript;
    transcript.start_seconds =
        static_cast<double>(chunk.frames.start_frame) / rate_;
    transcript.core_start_seconds =
        static_cast<double>(chunk.frames.core_start_frame) / rate_;
    transcript.end_seconds =
        static_cast<double>(chunk.frames.end_frame) / rate_;
    chunks_.push_back(std::move(transcript));
    waiting_.push_back(std::move(chunk));
  }
  if (result.audio_over) audio_over_ = true;
  DispatchLocked();
  if (cut_any) EmitProgressLocked();
  ContinueLocked();
  MaybeEndLocked();
}

void UploadSession::DispatchLocked() {
  while (!waiting_.empty() && failure_.ok() && !ended_ &&
         in_flight_ < options_.max_chunks_in_flight) {
    CutChunk chunk = std::move(waiting_.front());
    waiting_.pop_front();
    ++in_flight_;
    if (upstream_start_ == absl::InfiniteFuture())
      upstream_start_ = absl::Now();
    upstream::TranscriptionRequest request = options_.request;
    request.audio = std::move(chunk.wav);
    request.audio_format = "wav";
    const CancelScope::Key key = requests_.Reserve();
    // Not under mu_: a backend may answer on another thread at once, and
    // cancelling (when the upload failed meanwhile) must not hold it.
    mu_.Unlock();
    std::shared_ptr<upstream::Transfer> transfer = backend_->Transcribe(
        std::move(request), options_.call,
        [self = shared_from_this(), key,
         index = chunk.index](absl::StatusOr<upstream::Transcription> result) {
          self->requests_.Done(key);
          self->OnChunk(index, std::move(result));
        });
    requests_.Attach(key, std::move(transfer));
    mu_.Lock();
  }
}

void UploadSession::OnChunk(int index,
                            absl::StatusOr<upstream::Transcription> result) {
  Lock lock(this);
  --in_flight_;
  if (ended_ || !failure_.ok()) return MaybeEndLocked();
  if (!result.ok()) {
    return FailLocked(absl::Status(
        result.status().code(),
        absl::StrCat("chunk ", index + 1, ": ", result.status().message())));
  }
  usage_.input_tokens += result->usage.input_tokens;
  usage_.audio_tokens += result->usage.audio_tokens;
  usage_.output_tokens += result->usage.output_tokens;
  usage_.total_tokens += result->usage.total_tokens;
  if (model_.empty()) model_ = result->model;
  ChunkTranscript& chunk = chunks_[static_cast<std::size_t>(index)];
  seconds_transcribed_ += chunk.end_seconds - chunk.core_start_seconds;
  chunk.transcription = *std::move(result);
  ++answered_;
  DispatchLocked();
  EmitProgressLocked();
  ContinueLocked();
  MaybeEndLocked();
}

void UploadSession::EmitProgressLocked() {
  // DispatchLocked lets go of the lock: another thread may have ended the
  // session meanwhile.
  if (ended_) return;
  v1::TranscribeUploadResponse response;
  v1::UploadProgress* progress = response.mutable_progress();
  progress->set_bytes_received(bytes_received_);
  *progress->mutable_audio_decoded() =
      SecondsDuration(static_cast<double>(frames_seen_) / rate_);
  *progress->mutable_audio_transcribed() =
      SecondsDuration(seconds_transcribed_);
  progress->set_chunks_cut(static_cast<int32_t>(chunks_.size()));
  progress->set_chunks_done(answered_);
  outbox_.Respond(std::move(response));
}

void UploadSession::FailLocked(absl::Status status) {
  if (ended_) return;
  if (failure_.ok()) {
    failure_ = std::move(status);
    waiting_.clear();
    // What was not yet out is dropped: the error ends the upload now.
    outbox_.DropResponses();
    outbox_.CancelRequests();
  }
  MaybeEndLocked();
}

void UploadSession::ContinueLocked() {
  if (!configured_ || processing_ || ended_ || !failure_.ok() || audio_over_)
    return;
  // Backpressure: the next piece, or decode step, when chunks have gone.
  if (waiting_.size() >= kMaxWaitingChunks) return;
  if (!input_done_) {
    if (asked_for_input_) return;
    asked_for_input_ = true;
    outbox_.Ready();
    return;
  }
  // The input is over: flush the decoder, or decode the spool file's next
  // step.
  SubmitLocked("", true);
}

void UploadSession::MaybeEndLocked() {
  // Worker jobs and backend callbacks use the session's state; the end waits
  // for them.
  if (ended_ || processing_ || in_flight_ > 0) return;
  if (failure_.ok()) {
    const bool all_answered = audio_over_ && waiting_.empty() &&
                              answered_ == static_cast<int>(chunks_.size());
    if (!all_answered) return;
    if (chunks_.empty()) {
      failure_ = absl::InvalidArgumentError("audio: decoded to no samples");
    }
  }
  ended_ = true;
  call_.audio_seconds = static_cast<double>(frames_seen_) / rate_;
  call_.chunks = static_cast<int>(chunks_.size());
  if (upstream_start_ != absl::InfiniteFuture()) {
    call_.upstream_time = absl::Now() - upstream_start_;
  }
  if (failure_.ok()) {
    TranscriptionOutcome outcome;
    outcome.transcript = Stitch(chunks_);
    outcome.audio_seconds = call_.audio_seconds;
    outcome.usage = usage_;
    outcome.usage.audio_seconds = call_.audio_seconds;
    outcome.model = model_;
    outcome.chunks = call_.chunks;
    v1::TranscribeUploadResponse response;
    v1::TranscribeResponse* result = response.mutable_result();
    for (const std::string& warning : warnings_) result->add_warnings(warning);
    FillTranscribeResponse(outcome, recognition_, *result);
    result->set_backend(pool_);
    result->set_request_id(call_.request_id);
    outbox_.Respond(std::move(response));
  }
  outbox_.End(failure_);
}

void UploadSession::Deliver() {
  std::shared_ptr<UploadSession> self = shared_from_this();
  outbox_.Deliver(output_, requests_);
}

}  // namespace voxgate::operations
