#include "operations/stream_session.h"

#include "absl/strings/str_cat.h"
#include "audio/pcm.h"
#include "audio/wav.h"
#include "common/proto_duration.h"
#include "google/protobuf/util/time_util.h"

namespace voxgate::operations {
namespace {

using ::google::protobuf::util::TimeUtil;
constexpr int kRate = 16000;
constexpr std::size_t kMaxPiece = 64 * 1024;

google::protobuf::Duration Offset(int64_t frames) {
  return TimeUtil::MillisecondsToDuration(frames * 1000 / kRate);
}

}  // namespace

StreamSession::StreamSession(const Config& config, upstream::Routing& routing,
                             WorkerPool& workers, call::CallMetrics& metrics,
                             call::CallContext& call, Output& output)
    : config_(config),
      routing_(routing),
      workers_(workers),
      metrics_(metrics),
      call_(call),
      output_(output) {}

void StreamSession::Configure(const v1::StreamTranscribeConfig& config) {
  Lock lock(this);
  if (ended_ || !failure_.ok()) return;
  if (configured_) {
    return FailLocked(absl::FailedPreconditionError(
        "config: sent twice; the config is the first message only"));
  }
  asked_for_input_ = false;
  // Admission could not see the model: it comes in this message.
  if (call_.grant != nullptr) {
    absl::Status allowed =
        call_.grant->CheckModel(config.recognition().model());
    if (!allowed.ok()) return FailLocked(std::move(allowed));
  }
  absl::StatusOr<StreamSettings> settings = StreamSettingsFor(config, config_);
  if (!settings.ok()) return FailLocked(settings.status());
  settings_ = *std::move(settings);
  stream_config_ = config;
  switch (settings_.input) {
    case StreamSettings::Input::kRaw: {
      auto resampler = audio::StreamResampler::Create(
          settings_.raw_encoding, settings_.sample_rate, settings_.channels);
      if (!resampler.ok()) return FailLocked(resampler.status());
      resampler_ = std::move(*resampler);
      break;
    }
    case StreamSettings::Input::kWav:
      wav_header_pending_ = true;  // the resampler waits for the header
      break;
    case StreamSettings::Input::kContainer:
      container_ =
          std::make_unique<audio::ContainerStreamDecoder>(settings_.container);
      break;
  }
  absl::StatusOr<upstream::TranscriptionBackend*> backend =
      routing_.ForTranscription(config.recognition().model());
  if (!backend.ok()) return FailLocked(backend.status());
  backend_ = *backend;
  if (config.interim_results()) incremental_ = backend_->StartIncremental();
  upstream_model_ = routing_.UpstreamModelName(config.recognition().model());
  endpointer_ = std::make_unique<audio::Endpointer>(settings_.endpointing);
  configured_ = true;
  MaybeReadyLocked();
}

void StreamSession::Push(std::string audio, bool finalize) {
  Lock lock(this);
  asked_for_input_ = false;
  if (ended_ || !failure_.ok() || input_done_) return MaybeEndLocked();
  if (!configured_) {
    return FailLocked(absl::FailedPreconditionError(
        "the first message must be a config; audio or control came first"));
  }
  if (audio.size() > kMaxPiece) {
    return FailLocked(absl::InvalidArgumentError(
        "audio: at most 64 KiB per message; send smaller pieces"));
  }
  SubmitLocked(std::move(audio), false, finalize);
}

void StreamSession::EndOfInput() {
  Lock lock(this);
  asked_for_input_ = false;
  if (ended_ || !failure_.ok() || input_done_) return MaybeEndLocked();
  if (!configured_) {
    input_done_ = true;
    return MaybeEndLocked();
  }
  SubmitLocked("", true, false);
}

void StreamSession::Fail(absl::Status status) {
  Lock lock(this);
  FailLocked(std::move(status));
}

void StreamSession::SubmitLocked(std::string bytes, bool end_of_input,
                                 bool finalize) {
  processing_ = true;
  absl::Status queued = workers_.SubmitRealTime(
      [self = shared_from_this(), bytes = std::move(bytes), end_of_input,
       finalize]() mutable {
        self->Process(std::move(bytes), end_of_input, finalize);
      });
  if (!queued.ok()) {
    processing_ = false;
    FailLocked(queued);
  }
}

void StreamSession::Process(std::string bytes, bool end_of_input,
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
  if (ended_ || !failure_.ok()) {
    processing_ = false;
    return MaybeEndLocked();
  }
  if (!decoded.ok()) {
    processing_ = false;
    return FailLocked(decoded);
  }
  ProcessLocked(std::move(bytes), std::move(pcm), end_of_input, finalize);
  // Only now: until this job is over the session must not end (the job uses
  // it).
  processing_ = false;
  MaybeReadyLocked();
  MaybeEndLocked();
}

void StreamSession::ProcessLocked(std::string bytes, std::vector<float> pcm,
                                  bool end_of_input, bool finalize) {
  if (wav_header_pending_) {
    wav_header_.append(bytes);
    bytes.clear();
    std::optional<WavLayout> layout = ParseWavHeader(wav_header_);
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
    } else if (wav_header_.size() > kMaxPiece || end_of_input) {
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
  if (endpointer_->processed_frames() > settings_.max_stream_frames) {
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

void StreamSession::HandleEventsLocked(
    std::vector<audio::EndpointEvent> events) {
  for (audio::EndpointEvent& event : events) {
    if (input_done_ && last_wanted_.has_value()) return;  // single utterance
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
      EmitLocked(std::move(response));
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
    SendLocked(std::move(event.audio),
               [self = shared_from_this(),
                index](absl::StatusOr<upstream::Transcription> transcription) {
                 self->OnUtterance(index, std::move(transcription));
               });
  }
}

void StreamSession::SendLocked(
    std::vector<float> samples,
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
  upstream::TranscriptionBackend* backend = backend_;
  const upstream::CallOptions options = call_.upstream_options();
  StartTrackedLocked(
      [backend, options, &request, &done](std::function<void()> finished) {
        return backend->Transcribe(
            std::move(request), options,
            [finished = std::move(finished), done = std::move(done)](
                absl::StatusOr<upstream::Transcription> result) {
              finished();
              done(std::move(result));
            });
      });
}

void StreamSession::StartTrackedLocked(
    const std::function<std::shared_ptr<upstream::Transfer>(
        std::function<void()> finished)>& start) {
  ++outstanding_;  // the session cannot end before the request's answer
  const CancelScope::Key key = requests_.Reserve();
  // Not under mu_: a backend may answer on another thread at once, and
  // cancelling (when the session failed meanwhile) must not hold it.
  mu_.Unlock();
  std::shared_ptr<upstream::Transfer> transfer =
      start([self = shared_from_this(), key] { self->requests_.Done(key); });
  requests_.Attach(key, std::move(transfer));
  mu_.Lock();
}

void StreamSession::MaybeInterimLocked() {
  if (!stream_config_.interim_results() || interim_in_flight_ ||
      !endpointer_->in_utterance() || !failure_.ok() || ended_ || input_done_) {
    return;
  }
  const int64_t processed = endpointer_->processed_frames();
  if (processed - last_interim_frames_ < settings_.interim_interval_frames)
    return;
  last_interim_frames_ = processed;
  interim_in_flight_ = true;
  const int index = next_utterance_;  // the utterance in progress
  const int64_t start = endpointer_->utterance_start_frame();
  auto done = [self = shared_from_this(), index, start,
               processed](absl::StatusOr<upstream::Transcription> result) {
    self->OnInterim(index, start, processed, std::move(result));
  };
  if (incremental_ != nullptr) {
    // The engine decodes only the audio added since the last interim.
    upstream::IncrementalTranscriber* incremental = incremental_.get();
    StartTrackedLocked([incremental, index,
                        audio = endpointer_->utterance_audio(),
                        &done](std::function<void()> finished) mutable {
      return incremental->Partial(
          index, std::move(audio),
          [finished = std::move(finished), done = std::move(done)](
              absl::StatusOr<upstream::Transcription> result) {
            finished();
            done(std::move(result));
          });
    });
    return;
  }
  SendLocked(endpointer_->utterance_audio(), std::move(done));
}

void StreamSession::OnInterim(int index, int64_t start_frame, int64_t end_frame,
                              absl::StatusOr<upstream::Transcription> result) {
  Lock lock(this);
  --outstanding_;
  interim_in_flight_ = false;
  // A failed interim costs nothing; a stale one (its utterance has ended) is
  // dropped.
  if (result.ok() && failure_.ok() && !ended_ && !input_done_ &&
      index == next_utterance_) {
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
    EmitLocked(std::move(response));
    metrics_.StreamInterimResult();
  }
  MaybeEndLocked();
}

void StreamSession::OnUtterance(
    int index, absl::StatusOr<upstream::Transcription> result) {
  Lock lock(this);
  --outstanding_;
  // After a single utterance's result, later ones were cancelled: their end
  // (CANCELLED, or a late answer) is no failure of the stream.
  const bool unwanted = last_wanted_.has_value() && index > *last_wanted_;
  if (ended_ || !failure_.ok() || unwanted) return MaybeEndLocked();
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
  MaybeReadyLocked();
  MaybeEndLocked();
}

void StreamSession::EmitReadyLocked() {
  while (true) {
    auto it = ready_.find(next_to_emit_);
    if (it == ready_.end() || !answered_.count(next_to_emit_)) return;
    v1::StreamTranscribeResponse response = std::move(it->second);
    ready_.erase(it);
    answered_.erase(next_to_emit_);
    *response.mutable_audio_processed() =
        Offset(endpointer_->processed_frames());
    ++next_to_emit_;
    EmitLocked(std::move(response));
    if (stream_config_.single_utterance()) {
      // One utterance was asked for: stop listening, and stop the requests
      // for any later ones (outside the lock, in Deliver).
      input_done_ = true;
      last_wanted_ = next_to_emit_ - 1;
      ready_.clear();
      answered_.clear();
      next_utterance_ = next_to_emit_;
      outbox_.CancelRequests();
      return;
    }
  }
}

void StreamSession::EmitLocked(v1::StreamTranscribeResponse response) {
  if (first_response_) {
    first_response_ = false;
    response.set_request_id(call_.request_id);
  }
  outbox_.Respond(std::move(response));
}

void StreamSession::FailLocked(absl::Status status) {
  if (ended_) return;
  if (failure_.ok()) {
    failure_ = std::move(status);
    // Results not yet out are dropped: the error ends the stream now.
    outbox_.DropResponses();
    outbox_.CancelRequests();
  }
  MaybeEndLocked();
}

void StreamSession::MaybeReadyLocked() {
  if (!configured_ || processing_ || input_done_ || ended_ || !failure_.ok() ||
      asked_for_input_) {
    return;
  }
  if (next_utterance_ - next_to_emit_ >= kMaxPending) return;  // backpressure
  asked_for_input_ = true;
  outbox_.Ready();
}

void StreamSession::MaybeEndLocked() {
  // Worker jobs and backend callbacks refer to the session's state; the end
  // waits for them.
  if (ended_ || processing_ || outstanding_ > 0) return;
  const bool done =
      !failure_.ok() || (input_done_ && next_to_emit_ == next_utterance_);
  if (!done) return;
  ended_ = true;
  if (endpointer_ != nullptr) {
    call_.audio_seconds =
        static_cast<double>(endpointer_->processed_frames()) / kRate;
  }
  outbox_.End(failure_);
}

void StreamSession::Deliver() {
  std::shared_ptr<StreamSession> self = shared_from_this();
  outbox_.Deliver(output_, requests_);
}

}  // namespace voxgate::operations
