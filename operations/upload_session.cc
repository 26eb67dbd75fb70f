#include "operations/upload_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/loudness.h"
#include "audio/wav.h"
#include "google/protobuf/util/time_util.h"
#include "operations/api_mapping.h"
#include "common/byte_budget.h"

namespace voxgate::operations {
namespace {

using ::google::protobuf::util::TimeUtil;

google::protobuf::Duration SecondsDuration(double seconds) {
  return TimeUtil::MillisecondsToDuration(static_cast<int64_t>(seconds * 1000));
}

// An MP4/M4A file: its first box is "ftyp".
bool LooksLikeMp4(absl::string_view bytes) {
  return bytes.size() >= 8 && bytes.substr(4, 4) == "ftyp";
}

absl::StatusOr<audio::StreamContainer> DeclaredContainer(
    v1::AudioEncoding encoding) {
  switch (encoding) {
    case v1::AUDIO_ENCODING_MP3:
      return audio::StreamContainer::kMp3;
    case v1::AUDIO_ENCODING_FLAC:
      return audio::StreamContainer::kFlac;
    case v1::AUDIO_ENCODING_OGG_OPUS:
      return audio::StreamContainer::kOggOpus;
    case v1::AUDIO_ENCODING_WEBM_OPUS:
      return audio::StreamContainer::kWebmOpus;
    case v1::AUDIO_ENCODING_OGG_VORBIS:
      return audio::StreamContainer::kOggVorbis;
    default:  // AUTO, WAV: sniffed
      return audio::StreamContainer::kAny;
  }
}

// An unlinked file in TMPDIR (or /tmp): it vanishes when closed, whatever
// happens to the process.
absl::StatusOr<int> OpenSpoolFile() {
  const char* dir = std::getenv("TMPDIR");
  const std::string folder = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  int fd = open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = folder + "/voxgate-upload-XXXXXX";
    fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) unlink(path.c_str());
  }
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create a spool file for the upload in ", folder,
                     " (TMPDIR): ", std::strerror(errno)));
  }
  return fd;
}

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

UploadSession::JobResult UploadSession::Process(std::string bytes,
                                                bool end_of_input) {
  const absl::Time started = absl::Now();
  JobResult result;
  std::vector<float> pcm;
  result.status =
      Decode(std::move(bytes), end_of_input, pcm, result.audio_over);
  if (!result.status.ok()) return result;
  std::vector<audio::StreamChunk> cut = segmenter_->Push(pcm);
  std::vector<float>().swap(pcm);
  if (result.audio_over) {
    for (audio::StreamChunk& chunk : segmenter_->Finish())
      cut.push_back(std::move(chunk));
  }
  result.frames_seen = segmenter_->frames_seen();
  const absl::Duration longest = options_.preprocess.decode.max_duration;
  if (result.frames_seen > absl::ToDoubleSeconds(longest) * rate_ + rate_) {
    result.status = absl::InvalidArgumentError(
        absl::StrCat("audio: decoded audio is longer than max_audio_duration ",
                     absl::FormatDuration(longest)));
    return result;
  }
  result.chunks = Encode(std::move(cut));
  result.took = absl::Now() - started;
  return result;
}

absl::Status UploadSession::Decode(std::string bytes, bool end_of_input,
                                   std::vector<float>& pcm, bool& audio_over) {
  if (input_ == Input::kUndecided) {
    // The container is chosen from the first bytes; wait for enough of them.
    sniffed_.append(bytes);
    if (sniffed_.size() < 12 && !end_of_input) return absl::OkStatus();
    bytes = std::move(sniffed_);
    sniffed_.clear();
    if (absl::Status chosen = ChooseInput(bytes); !chosen.ok()) return chosen;
  }
  switch (input_) {
    case Input::kRaw: {
      absl::Status status = raw_->Push(bytes, pcm);
      if (status.ok() && end_of_input) status = raw_->Flush(pcm);
      audio_over = end_of_input;
      return status;
    }
    case Input::kContainer: {
      absl::Status status = container_->Push(bytes, pcm);
      if (status.ok() && end_of_input) status = container_->Finish(pcm);
      audio_over = end_of_input;
      return status;
    }
    case Input::kSpool:
      break;
    case Input::kUndecided:
      return absl::InternalError("upload input undecided");
  }
  if (!bytes.empty()) {
    if (absl::Status spooled = Spool(bytes); !spooled.ok()) return spooled;
  }
  if (!end_of_input) return absl::OkStatus();
  if (spool_decoder_ == nullptr) {
    audio::DecodeOptions options = options_.preprocess.decode;
    options.format = audio::InputFormat::kAuto;
    options.target_sample_rate = rate_;
    options.target_channels = 1;
    options.max_wall_time = call_.deadline - absl::Now();
    absl::StatusOr<std::unique_ptr<audio::FileDecoder>> opened =
        audio::FileDecoder::Open(spool_fd_, spooled_bytes_, options);
    if (!opened.ok()) return opened.status();
    spool_decoder_ = *std::move(opened);
  }
  // One chunk's worth per step: the next step comes when the chunks have
  // gone upstream.
  const int64_t step = static_cast<int64_t>(
      std::max(1.0, options_.segment.max_chunk_seconds) * rate_);
  absl::StatusOr<bool> more = spool_decoder_->Next(step, pcm);
  if (!more.ok()) return more.status();
  audio_over = !*more;
  return absl::OkStatus();
}

absl::Status UploadSession::ChooseInput(absl::string_view first_bytes) {
  if (format_.encoding() == v1::AUDIO_ENCODING_M4A_AAC ||
      (format_.encoding() <= v1::AUDIO_ENCODING_AUTO &&
       LooksLikeMp4(first_bytes))) {
    absl::StatusOr<int> fd = OpenSpoolFile();
    if (!fd.ok()) return fd.status();
    spool_fd_ = *fd;
    input_ = Input::kSpool;
    return absl::OkStatus();
  }
  absl::StatusOr<audio::StreamContainer> container =
      DeclaredContainer(format_.encoding());
  if (!container.ok()) return container.status();
  container_ =
      std::make_unique<audio::ContainerStreamDecoder>(*container, rate_);
  input_ = Input::kContainer;
  return absl::OkStatus();
}

absl::Status UploadSession::Spool(absl::string_view bytes) {
  ByteBudget* budget = services_.spool;
  if (budget != nullptr &&
      !budget->TryTake(static_cast<int64_t>(bytes.size()))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the gateway's disk spool for MP4/M4A uploads is full (",
        budget->limit(),
        " bytes over all uploads, audio.max_spool_bytes); retry later, or "
        "send a container that streams (MP3, FLAC, Ogg, WebM, WAV)"));
  }
  budgeted_bytes_ += static_cast<int64_t>(bytes.size());
  while (!bytes.empty()) {
    const ssize_t wrote =
        pwrite(spool_fd_, bytes.data(), bytes.size(), spooled_bytes_);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = wrote < 0 ? errno : ENOSPC;
      const std::string why =
          absl::StrCat("spooling the upload to a temporary file failed after ",
                       spooled_bytes_, " bytes: ", std::strerror(error));
      return error == ENOSPC || error == EDQUOT
                 ? absl::ResourceExhaustedError(why)
                 : absl::InternalError(why);
    }
    spooled_bytes_ += wrote;
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return absl::OkStatus();
}

std::vector<UploadSession::CutChunk> UploadSession::Encode(
    std::vector<audio::StreamChunk> chunks) {
  std::vector<CutChunk> out;
  for (audio::StreamChunk& chunk : chunks) {
    audio::PcmAudio pcm;
    pcm.sample_rate = rate_;
    pcm.samples = std::move(chunk.samples);
    if (options_.preprocess.normalize_loudness) {
      // Fails only when libebur128 cannot allocate; the chunk then goes as
      // it is.
      (void)audio::NormalizeLoudness(pcm, options_.preprocess.loudness);
    }
    out.push_back({next_index_++, chunk.frames, audio::EncodeWav(pcm)});
  }
  return out;
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
