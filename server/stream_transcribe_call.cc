#include "server/stream_transcribe_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/pcm.h"
#include "audio/wav.h"
#include "common/proto_duration.h"
#include "google/protobuf/util/time_util.h"
#include "server/call_end.h"

namespace voxgate::server {
namespace {

using ::google::protobuf::util::TimeUtil;
constexpr int kRate = 16000;

google::protobuf::Duration Offset(int64_t frames) {
  return TimeUtil::MillisecondsToDuration(frames * 1000 / kRate);
}

}  // namespace

StreamTranscribeCall::StreamTranscribeCall(
    grpc::CallbackServerContext* context, const Config& config,
    upstream::Upstreams& upstreams, WorkerPool& workers,
    const Logger& logger, Admission& admission, CallMetrics& metrics,
    TimerQueue& timers, StreamSlots& stream_slots)
    : context_(context),
      call_(StartCall(*context)),
      config_(config),
      upstreams_(upstreams),
      workers_(workers),
      logger_(logger),
      admission_(admission),
      metrics_(metrics),
      timers_(timers),
      stream_slots_(stream_slots) {
  metrics_.Started("StreamTranscribe");
  absl::MutexLock lock(&mu_);
  idle_timeout_ = ToAbsl(config_.limits().stream_idle_timeout());
}

StreamTranscribeCall::~StreamTranscribeCall() {
  if (holds_stream_slot_) stream_slots_.Release();
}

void StreamTranscribeCall::Begin() {
  Pin pin(this);  // the callback may run here and end the call
  if (!stream_slots_.TryAcquire()) {
    Lock lock(this);
    waiting_admission_ = false;
    return FailLocked(absl::ResourceExhaustedError(
        absl::StrCat("limits.max_streams: ", stream_slots_.max_streams(),
                     " streams are open; retry later or on another replica")));
  }
  {
    Lock lock(this);
    holds_stream_slot_ = true;
  }
  const uint64_t wait =
      admission_.Admit([this](absl::StatusOr<Admission::Ticket> ticket) {
        admission_wait_.store(0);
        Lock lock(this);
        waiting_admission_ = false;
        if (!ticket.ok()) return FailLocked(ticket.status());
        ticket_.emplace(*std::move(ticket));
        MaybeReadLocked();
      });
  if (wait != 0) admission_wait_.store(wait);
}

void StreamTranscribeCall::MaybeReadLocked() {
  if (reading_ || processing_ || input_done_ || finished_ || !failure_.ok())
    return;
  if (next_utterance_ - next_to_emit_ >= kMaxPending) return;  // backpressure
  reading_ = true;
  read_started_ = absl::Now();
  if (idle_timer_ == 0 && idle_timeout_ > absl::ZeroDuration())
    ArmIdleTimerLocked(read_started_ + idle_timeout_);
  AfterUnlock([this] { StartRead(&request_); });
}

void StreamTranscribeCall::ArmIdleTimerLocked(absl::Time when) {
  idle_timer_ = timers_.Schedule(when, [this] { OnIdleTimer(); });
}

void StreamTranscribeCall::OnIdleTimer() {
  Lock lock(this);
  idle_timer_ = 0;
  if (finished_ || !failure_.ok() || input_done_) return MaybeFinishLocked();
  // Only a read waiting on the client counts: while the gateway itself holds
  // back (a worker job, backpressure) the client is not idle.
  const absl::Time now = absl::Now();
  if (reading_ && now - read_started_ >= idle_timeout_) {
    return FailLocked(absl::DeadlineExceededError(absl::StrCat(
        "no message from the client for ", absl::FormatDuration(idle_timeout_),
        " (limits.stream_idle_timeout); send audio, or half-close to end "
        "the stream")));
  }
  ArmIdleTimerLocked(reading_ ? read_started_ + idle_timeout_
                              : now + idle_timeout_);
}

absl::Status StreamTranscribeCall::Configure(
    const v1::StreamTranscribeConfig& config) {
  stream_config_ = config;
  const v1::AudioFormat& format = config.format();
  audio::RawEncoding encoding = audio::RawEncoding::kS16le;
  switch (format.encoding()) {
    case v1::AUDIO_ENCODING_LINEAR16:
      break;
    case v1::AUDIO_ENCODING_MULAW:
      encoding = audio::RawEncoding::kMulaw;
      break;
    case v1::AUDIO_ENCODING_ALAW:
      encoding = audio::RawEncoding::kAlaw;
      break;
    case v1::AUDIO_ENCODING_WAV:
      wav_header_pending_ = true;  // the resampler waits for the header
      break;
    case v1::AUDIO_ENCODING_UNSPECIFIED:
    case v1::AUDIO_ENCODING_AUTO:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kAny);
      break;
    case v1::AUDIO_ENCODING_OGG_OPUS:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kOggOpus);
      break;
    case v1::AUDIO_ENCODING_WEBM_OPUS:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kWebmOpus);
      break;
    case v1::AUDIO_ENCODING_OGG_VORBIS:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kOggVorbis);
      break;
    case v1::AUDIO_ENCODING_MP3:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kMp3);
      break;
    case v1::AUDIO_ENCODING_FLAC:
      container_ = std::make_unique<audio::ContainerStreamDecoder>(
          audio::StreamContainer::kFlac);
      break;
    default:
      // M4A keeps its index at the end: it cannot be decoded as it arrives.
      return absl::InvalidArgumentError(absl::StrCat(
          "config.format.encoding: ", v1::AudioEncoding_Name(format.encoding()),
          " cannot be streamed; send LINEAR16, MULAW, ALAW, WAV, OGG_OPUS, "
          "WEBM_OPUS, OGG_VORBIS, MP3 or FLAC"));
  }
  if (!wav_header_pending_ && container_ == nullptr) {
    auto resampler = audio::StreamResampler::Create(
        encoding, format.sample_rate_hertz(), format.channel_count());
    if (!resampler.ok()) return resampler.status();
    resampler_ = std::move(*resampler);
  }
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      upstreams_.ForTranscription(config.recognition().model());
  if (!backend.ok()) return backend.status();
  backend_ = *backend;
  if (config.interim_results()) incremental_ = backend_->StartIncremental();
  upstream_model_ = upstreams_.UpstreamModelName(config.recognition().model());
  if (config.has_interim_interval()) {
    const absl::Duration interval = ToAbsl(config.interim_interval());
    if (interval < absl::Milliseconds(200) || interval > absl::Seconds(10)) {
      return absl::InvalidArgumentError(
          "config.interim_interval: 200ms to 10s");
    }
    interim_interval_frames_ =
        absl::ToInt64Milliseconds(interval) * kRate / 1000;
  }
  audio::EndpointerOptions options;
  const v1::EndpointingConfig& endpointing = config.endpointing();
  if (endpointing.has_trailing_silence()) {
    options.trailing_silence = ToAbsl(endpointing.trailing_silence());
  }
  if (endpointing.has_max_utterance())
    options.max_utterance = ToAbsl(endpointing.max_utterance());
  if (endpointing.has_speech_start_timeout()) {
    options.speech_start_timeout = ToAbsl(endpointing.speech_start_timeout());
  }
  if (options.trailing_silence < absl::Milliseconds(100) ||
      options.trailing_silence > absl::Seconds(5)) {
    return absl::InvalidArgumentError(
        "config.endpointing.trailing_silence: 100ms to 5s");
  }
  if (options.max_utterance < absl::Seconds(1) ||
      options.max_utterance > absl::Seconds(120)) {
    return absl::InvalidArgumentError(
        "config.endpointing.max_utterance: 1s to 120s");
  }
  endpointer_ = std::make_unique<audio::Endpointer>(options);
  max_stream_frames_ =
      absl::ToInt64Seconds(ToAbsl(config_.limits().max_stream_duration())) *
      kRate;
  configured_ = true;
  return absl::OkStatus();
}

void StreamTranscribeCall::OnReadDone(bool ok) {
  Lock lock(this);
  reading_ = false;
  if (finished_ || !failure_.ok()) return MaybeFinishLocked();
  if (!ok) {
    // Half-close: flush the last utterance.
    if (!configured_) {
      input_done_ = true;
      return MaybeFinishLocked();
    }
    processing_ = true;
    absl::Status queued =
        workers_.SubmitRealTime([this] { Process("", true, false); });
    if (!queued.ok()) {
      processing_ = false;
      FailLocked(queued);
    }
    return;
  }
  metrics_.MessageReceived("StreamTranscribe");
  switch (request_.request_case()) {
    case v1::StreamTranscribeRequest::kConfig: {
      if (configured_) {
        return FailLocked(absl::FailedPreconditionError(
            "config: sent twice; the config is the first message only"));
      }
      if (absl::Status status = Configure(request_.config()); !status.ok()) {
        return FailLocked(status);
      }
      return MaybeReadLocked();
    }
    case v1::StreamTranscribeRequest::kAudio:
    case v1::StreamTranscribeRequest::kControl: {
      if (!configured_) {
        return FailLocked(absl::FailedPreconditionError(
            "the first message must be a config; audio or control came first"));
      }
      const bool finalize =
          request_.has_control() &&
          request_.control() == v1::STREAM_CONTROL_FINALIZE_UTTERANCE;
      if (request_.has_control() && !finalize) {
        return FailLocked(
            absl::InvalidArgumentError("control: unknown action"));
      }
      if (request_.audio().size() > 64 * 1024) {
        return FailLocked(absl::InvalidArgumentError(
            "audio: at most 64 KiB per message; send smaller pieces"));
      }
      processing_ = true;
      absl::Status queued =
          workers_.SubmitRealTime([this, bytes = request_.audio(), finalize] {
            Process(bytes, false, finalize);
          });
      if (!queued.ok()) {
        processing_ = false;
        FailLocked(queued);
      }
      return;
    }
    default:
      return FailLocked(
          absl::InvalidArgumentError("a message must carry config, audio or "
                                     "control"));
  }
}

void StreamTranscribeCall::Process(std::string bytes, bool end_of_input,
                                   bool finalize) {
  std::vector<float> pcm;
  absl::Status decoded;
  if (container_ != nullptr) {
    // Outside mu_: this waits for the stream's demuxer thread.
    decoded = container_->Push(bytes, pcm);
    if (decoded.ok() && end_of_input) decoded = container_->Finish(pcm);
    bytes.clear();
  }
  Lock lock(this);
  if (finished_ || !failure_.ok()) {
    processing_ = false;
    return MaybeFinishLocked();
  }
  if (!decoded.ok()) {
    processing_ = false;
    return FailLocked(decoded);
  }
  ProcessLocked(std::move(bytes), std::move(pcm), end_of_input, finalize);
  // Only now: until this job is over the call must not finish (the job uses
  // it).
  processing_ = false;
  MaybeReadLocked();
  MaybeFinishLocked();
}

void StreamTranscribeCall::ProcessLocked(std::string bytes,
                                         std::vector<float> pcm,
                                         bool end_of_input, bool finalize) {
  if (wav_header_pending_) {
    wav_header_.append(bytes);
    bytes.clear();
    std::optional<audio::WavLayout> layout = audio::ParseWavHeader(wav_header_);
    if (layout.has_value()) {
      if (layout->format_tag != 1 || layout->bits_per_sample != 16) {
        return FailLocked(absl::InvalidArgumentError(
            "audio: the WAV stream must hold 16-bit PCM"));
      }
      auto resampler = audio::StreamResampler::Create(
          audio::RawEncoding::kS16le, layout->sample_rate, layout->channels);
      if (!resampler.ok()) return FailLocked(resampler.status());
      resampler_ = std::move(*resampler);
      bytes = wav_header_.substr(layout->data_offset);
      wav_header_.clear();
      wav_header_pending_ = false;
    } else if (wav_header_.size() > 64 * 1024 || end_of_input) {
      return FailLocked(
          absl::InvalidArgumentError("audio: not a WAV stream (no header)"));
    }
  }
  if (resampler_ != nullptr) {
    absl::Status status = resampler_->Push(bytes, pcm);
    if (status.ok() && end_of_input) status = resampler_->Flush(pcm);
    if (!status.ok()) return FailLocked(status);
  }
  std::vector<audio::EndpointEvent> events = endpointer_->Push(pcm);
  if (endpointer_->processed_frames() > max_stream_frames_) {
    return FailLocked(absl::OutOfRangeError(absl::StrCat(
        "the stream is longer than limits.max_stream_duration ",
        absl::FormatDuration(ToAbsl(config_.limits().max_stream_duration())),
        "; start a new stream")));
  }
  if (finalize || end_of_input) {
    for (auto& event :
         end_of_input ? endpointer_->Flush() : endpointer_->Finalize()) {
      events.push_back(std::move(event));
    }
  }
  if (end_of_input) input_done_ = true;
  HandleEventsLocked(std::move(events));
  MaybeInterimLocked();
}

void StreamTranscribeCall::HandleEventsLocked(
    std::vector<audio::EndpointEvent> events) {
  for (audio::EndpointEvent& event : events) {
    if (stream_config_.enable_speech_events()) {
      v1::StreamTranscribeResponse response;
      v1::SpeechEvent* speech = response.mutable_event();
      switch (event.type) {
        case audio::EndpointEvent::Type::kSpeechBegin:
          speech->set_type(v1::SpeechEvent::TYPE_SPEECH_BEGIN);
          *speech->mutable_offset() = Offset(event.start_frame);
          break;
        case audio::EndpointEvent::Type::kUtteranceEnd:
          speech->set_type(v1::SpeechEvent::TYPE_END_OF_UTTERANCE);
          *speech->mutable_offset() = Offset(event.end_frame);
          break;
        case audio::EndpointEvent::Type::kSpeechStartTimeout:
          speech->set_type(v1::SpeechEvent::TYPE_SPEECH_START_TIMEOUT);
          *speech->mutable_offset() = Offset(event.end_frame);
          break;
      }
      *response.mutable_audio_processed() =
          Offset(endpointer_->processed_frames());
      EnqueueLocked(std::move(response));
    }
    if (event.type != audio::EndpointEvent::Type::kUtteranceEnd) continue;
    // The utterance goes upstream now; its result is emitted in order.
    const int index = next_utterance_++;
    metrics_.StreamUtterance();
    v1::StreamTranscribeResponse pending;
    v1::StreamResult* result = pending.mutable_result();
    result->set_is_final(true);
    result->set_stability(1);
    result->set_utterance_index(index);
    *result->mutable_start_offset() = Offset(event.start_frame);
    *result->mutable_end_offset() = Offset(event.end_frame);
    ready_[index] = std::move(pending);
    SendLocked(
        index, std::move(event.audio),
        [this, index](absl::StatusOr<upstream::Transcription> transcription) {
          OnUtterance(index, std::move(transcription));
        });
  }
}

void StreamTranscribeCall::SendLocked(
    int key, std::vector<float> samples,
    std::function<void(absl::StatusOr<upstream::Transcription>)> done) {
  audio::PcmAudio pcm;
  pcm.sample_rate = kRate;
  pcm.samples = std::move(samples);
  upstream::TranscriptionRequest request;
  request.audio = audio::EncodeWav(pcm);
  request.model = upstream_model_;
  const v1::RecognitionConfig& recognition = stream_config_.recognition();
  if (recognition.language_codes_size() > 0)
    request.language = recognition.language_codes(0);
  request.prompt = recognition.prompt();
  request.want_words = recognition.enable_word_timestamps();
  StartTrackedLocked(key, [this, &request, &done] {
    return backend_->Transcribe(std::move(request), call_.upstream_options(),
                                std::move(done));
  });
}

void StreamTranscribeCall::StartTrackedLocked(
    int key,
    const std::function<std::shared_ptr<upstream::Transfer>()>& start) {
  in_flight_[key] = nullptr;
  // Not under mu_: the backend may answer on this thread.
  mu_.Unlock();
  std::shared_ptr<upstream::Transfer> transfer = start();
  mu_.Lock();
  if (auto it = in_flight_.find(key); it != in_flight_.end())
    it->second = transfer;
  if (!failure_.ok() || finished_) transfer->Cancel();
}

void StreamTranscribeCall::MaybeInterimLocked() {
  if (!stream_config_.interim_results() || interim_in_flight_ ||
      !endpointer_->in_utterance() || !failure_.ok() || finished_) {
    return;
  }
  const int64_t processed = endpointer_->processed_frames();
  if (processed - last_interim_frames_ < interim_interval_frames_) return;
  last_interim_frames_ = processed;
  interim_in_flight_ = true;
  const int index = next_utterance_;  // the utterance in progress
  const int64_t start = endpointer_->utterance_start_frame();
  auto done = [this, index, start,
               processed](absl::StatusOr<upstream::Transcription> result) {
    OnInterim(index, start, processed, std::move(result));
  };
  if (incremental_ != nullptr) {
    // The engine decodes only the audio added since the last interim.
    StartTrackedLocked(-1 - index, [this, index,
                                    audio = endpointer_->utterance_audio(),
                                    &done]() mutable {
      return incremental_->Partial(index, std::move(audio), std::move(done));
    });
    return;
  }
  SendLocked(-1 - index, endpointer_->utterance_audio(), std::move(done));
}

void StreamTranscribeCall::OnInterim(
    int index, int64_t start_frame, int64_t end_frame,
    absl::StatusOr<upstream::Transcription> result) {
  Lock lock(this);
  in_flight_.erase(-1 - index);
  interim_in_flight_ = false;
  // A failed interim costs nothing; a stale one (its utterance has ended) is
  // dropped.
  if (result.ok() && failure_.ok() && !finished_ && index == next_utterance_) {
    v1::StreamTranscribeResponse response;
    v1::StreamResult* interim = response.mutable_result();
    interim->set_text(result->text);
    interim->set_is_final(false);
    interim->set_stability(0.5);
    interim->set_utterance_index(index);
    *interim->mutable_start_offset() = Offset(start_frame);
    *interim->mutable_end_offset() = Offset(end_frame);
    *response.mutable_audio_processed() =
        Offset(endpointer_->processed_frames());
    EnqueueLocked(std::move(response));
    metrics_.StreamInterimResult();
  }
  MaybeFinishLocked();
}

void StreamTranscribeCall::OnUtterance(
    int index, absl::StatusOr<upstream::Transcription> result) {
  Lock lock(this);
  in_flight_.erase(index);
  if (finished_ || !failure_.ok()) return MaybeFinishLocked();
  if (!result.ok()) return FailLocked(result.status());
  v1::StreamResult* out = ready_[index].mutable_result();
  out->set_text(result->text);
  out->set_language_code(result->language);
  const double start =
      out->start_offset().seconds() + out->start_offset().nanos() / 1e9;
  for (const upstream::Word& word : result->words) {
    v1::WordInfo* info = out->add_words();
    info->set_word(word.word);
    *info->mutable_start_offset() = TimeUtil::MillisecondsToDuration(
        static_cast<int64_t>((start + word.start_seconds) * 1000));
    *info->mutable_end_offset() = TimeUtil::MillisecondsToDuration(
        static_cast<int64_t>((start + word.end_seconds) * 1000));
    info->set_confidence(word.confidence);
  }
  answered_.insert(index);
  EmitReadyLocked();
  MaybeReadLocked();
  MaybeFinishLocked();
}

void StreamTranscribeCall::EmitReadyLocked() {
  while (true) {
    auto it = ready_.find(next_to_emit_);
    if (it == ready_.end() || !answered_.count(next_to_emit_)) return;
    v1::StreamTranscribeResponse response = std::move(it->second);
    ready_.erase(it);
    answered_.erase(next_to_emit_);
    *response.mutable_audio_processed() =
        Offset(endpointer_->processed_frames());
    ++next_to_emit_;
    EnqueueLocked(std::move(response));
    if (stream_config_.single_utterance()) {
      input_done_ = true;  // one utterance was asked for: stop listening
      for (auto& [index, transfer] : in_flight_) {
        if (transfer != nullptr) transfer->Cancel();
      }
      ready_.clear();
      next_utterance_ = next_to_emit_;
      return;
    }
  }
}

void StreamTranscribeCall::EnqueueLocked(
    v1::StreamTranscribeResponse response) {
  if (first_response_) {
    first_response_ = false;
    response.set_request_id(call_.request_id);
    for (const std::string& warning : warnings_) response.add_warnings(warning);
  }
  queue_.push_back(std::move(response));
  PumpLocked();
}

void StreamTranscribeCall::PumpLocked() {
  if (write_in_flight_ || finished_ || queue_.empty()) return;
  writing_ = std::move(queue_.front());
  queue_.pop_front();
  write_in_flight_ = true;
  AfterUnlock([this] { StartWrite(&writing_); });
}

void StreamTranscribeCall::OnWriteDone(bool ok) {
  Lock lock(this);
  write_in_flight_ = false;
  if (!ok) return FailLocked(absl::CancelledError("the client went away"));
  metrics_.MessageSent("StreamTranscribe");
  PumpLocked();
  MaybeFinishLocked();
}

void StreamTranscribeCall::OnCancel() {
  if (const uint64_t wait = admission_wait_.exchange(0); wait != 0) {
    admission_.CancelWait(wait);  // its callback fails the call
  }
  Lock lock(this);
  FailLocked(absl::CancelledError("the caller cancelled the stream"));
}

void StreamTranscribeCall::FailLocked(absl::Status status) {
  if (failure_.ok()) failure_ = std::move(status);
  queue_.clear();
  for (auto& [index, transfer] : in_flight_) {
    if (transfer != nullptr) transfer->Cancel();
  }
  MaybeFinishLocked();
}

void StreamTranscribeCall::MaybeFinishLocked() {
  // A pending read may stay open (Finish completes it); worker jobs and
  // upstream callbacks refer to this call, so they must be over first.
  if (finished_ || write_in_flight_ || processing_ || waiting_admission_)
    return;
  if (!in_flight_.empty()) return;  // their callbacks still refer to this call
  const bool done =
      !failure_.ok() ||
      (input_done_ && next_to_emit_ == next_utterance_ && queue_.empty());
  if (!done) return;
  if (idle_timer_ != 0) {
    // A timer that already fired is about to call back into this call; wait
    // for it (it comes back here).
    if (!timers_.Cancel(idle_timer_)) return;
    idle_timer_ = 0;
  }
  finished_ = true;
  if (endpointer_ != nullptr) {
    call_.audio_seconds =
        static_cast<double>(endpointer_->processed_frames()) / kRate;
  }
  const grpc::Status grpc_status = EndCall(*context_, call_, "StreamTranscribe",
                                           "", failure_, logger_, metrics_);
  ticket_.reset();
  // The stream stops counting against limits.max_streams before its client
  // can see the status: a client that reopens at once is not refused.
  if (holds_stream_slot_) stream_slots_.Release();
  holds_stream_slot_ = false;
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

}  // namespace voxgate::server
