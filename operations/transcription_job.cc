#include "operations/transcription_job.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/loudness.h"
#include "audio/wav.h"

namespace voxgate::operations {

TranscriptionJob::TranscriptionJob(std::string audio,
                                   TranscriptionJobOptions options,
                                   upstream::TranscriptionBackend& backend,
                                   WorkerPool& workers, TimerQueue& timers,
                                   Done done)
    : options_(std::move(options)),
      backend_(backend),
      workers_(workers),
      timers_(timers),
      done_(std::move(done)),
      created_(absl::Now()),
      channels_(std::max(1, options_.preprocess.decode.target_channels)),
      audio_(std::move(audio)),
      segmenter_(options_.preprocess.decode.target_sample_rate,
                 options_.segment, channels_) {}

std::shared_ptr<TranscriptionJob> TranscriptionJob::Start(
    std::string audio, TranscriptionJobOptions options,
    upstream::TranscriptionBackend& backend, WorkerPool& workers,
    TimerQueue& timers, Done done) {
  auto job = std::make_shared<TranscriptionJob>(std::move(audio),
                                                std::move(options), backend,
                                                workers, timers, std::move(done));
  job->MaybeDecode();
  return job;
}

int64_t TranscriptionJob::StepBytes() const {
  const int rate = options_.preprocess.decode.target_sample_rate;
  const int64_t chunk_frames = static_cast<int64_t>(
      options_.segment.max_chunk_seconds * rate);
  // Floats: the audio not yet cut, the piece just decoded (a packet may
  // overshoot by up to a second), the window the cut is chosen in, and the
  // chunk taken out; then up to two chunks' WAV (the last step also cuts
  // the rest).
  const int64_t floats = 4 * (chunk_frames + rate) * channels_;
  const int64_t wav = 2 * (chunk_frames * channels_ * 2 + 44);
  return floats * static_cast<int64_t>(sizeof(float)) + wav;
}

void TranscriptionJob::Pump() {
  DispatchMore();
  MaybeDecode();
}

void TranscriptionJob::MaybeDecode() {
  const int64_t step = StepBytes();
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || finished_ || decoding_ || audio_over_ ||
        waiting_.size() >= kMaxWaitingChunks) {
      return;
    }
    ByteBudget* budget = options_.decoded_budget;
    if (budget != nullptr && !budget->TryTake(step)) {
      // A chunk of ours still out comes back and calls Pump: decode then.
      if (sent_ > answered_ || !waiting_.empty()) return;
      if (!chunks_.empty()) {
        // Started, and every chunk so far answered: failing now would waste
        // that work, so try again shortly (the call's deadline or a cancel
        // ends the wait).
        timers_.ScheduleAfter(kBudgetRetry,
                              [weak = weak_from_this()] {
                                if (auto job = weak.lock()) job->MaybeDecode();
                              });
        return;
      }
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "the gateway holds audio.max_decoded_bytes (", budget->limit(),
          " bytes) of decoded audio for other calls; this call needs ", step,
          " bytes at a time for its chunks (max_chunk and the output rate "
          "and channels set that); retry shortly"));
    } else {
      decoding_ = true;
    }
  }
  if (refused.ok()) {
    refused = workers_.TrySubmit(
        [job = shared_from_this()] { job->DecodeStep(); });
    if (refused.ok()) return;
    GiveDecoded(step);
    absl::MutexLock lock(&mu_);
    decoding_ = false;
  }
  // From the timer thread: the caller may be Start, whose thread `done`
  // must never run on.
  timers_.Post([job = shared_from_this(), refused] { job->Finish(refused); });
}

void TranscriptionJob::DecodeStep() {
  const absl::Time started = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (first_step_) outcome_.queue_time = started - created_;
  }
  first_step_ = false;
  Step step;
  // The deadline is on the call's clock; the timings above are real time.
  if (timers_.clock().Now() >= options_.call.deadline) {
    step.status = absl::DeadlineExceededError(
        "deadline passed while waiting for an audio worker");
  } else {
    step = Decode();
  }
  std::vector<CutChunk> cut;
  std::size_t first_index = 0;
  {
    absl::MutexLock lock(&mu_);
    first_index = chunks_.size();
  }
  if (step.status.ok()) cut = Encode(step.chunks, first_index);
  const int64_t reserved = StepBytes();
  const int64_t segmenter_bytes = step.audio_over ? 0 : segmenter_.held_bytes();
  {
    absl::MutexLock lock(&mu_);
    decoding_ = false;
    outcome_.preprocess_time += absl::Now() - started;
    if (cancelled_ || finished_ || !step.status.ok()) {
      GiveDecoded(reserved);
    } else {
      int64_t kept = segmenter_bytes - segmenter_bytes_;
      const double rate = options_.preprocess.decode.target_sample_rate;
      for (CutChunk& chunk : cut) {
        const int64_t bytes = static_cast<int64_t>(chunk.wav.size());
        kept += bytes;
        chunk_bytes_.push_back(bytes);
        in_flight_.emplace_back();
        waiting_.push_back(std::move(chunk));
      }
      for (const audio::StreamChunk& frames : step.chunks) {
        ChunkTranscript transcript;
        transcript.start_seconds = frames.frames.start_frame / rate;
        transcript.core_start_seconds = frames.frames.core_start_frame / rate;
        transcript.end_seconds = frames.frames.end_frame / rate;
        chunks_.push_back(std::move(transcript));
      }
      // A packet past the estimate is taken anyway: the audio is decoded.
      GiveDecoded(reserved - kept);
      held_bytes_ += kept;
      segmenter_bytes_ = segmenter_bytes;
      if (step.audio_over) {
        audio_over_ = true;
        outcome_.audio_seconds = step.frames_seen / rate;
        outcome_.chunks = static_cast<int>(chunks_.size());
      }
    }
  }
  if (!step.status.ok()) return Finish(step.status);
  Pump();
  MaybeComplete();
}

TranscriptionJob::Step TranscriptionJob::Decode() {
  Step step;
  if (decoder_ == nullptr) {
    audio::DecodeOptions decode = options_.preprocess.decode;
    decode.max_wall_time = std::min(decode.max_wall_time,
                                    options_.call.deadline - timers_.clock().Now());
    absl::StatusOr<std::unique_ptr<audio::FileDecoder>> opened =
        audio::FileDecoder::OpenMemory(audio_, decode);
    if (!opened.ok()) {
      step.status = opened.status();
      return step;
    }
    decoder_ = *std::move(opened);
  }
  std::vector<float> piece;
  while (step.chunks.empty() && !step.audio_over) {
    piece.clear();
    absl::StatusOr<bool> more =
        decoder_->Next(segmenter_.frames_until_cut() * channels_, piece);
    if (!more.ok()) {
      step.status = more.status();
      return step;
    }
    step.chunks = segmenter_.Push(piece);
    if (!*more) {
      step.audio_over = true;
      for (audio::StreamChunk& chunk : segmenter_.Finish())
        step.chunks.push_back(std::move(chunk));
    }
  }
  step.frames_seen = segmenter_.frames_seen();
  if (step.audio_over) {
    decoder_.reset();
    std::string().swap(audio_);  // the encoded input is no longer needed
  }
  return step;
}

std::vector<TranscriptionJob::CutChunk> TranscriptionJob::Encode(
    std::vector<audio::StreamChunk>& chunks, std::size_t first_index) const {
  std::vector<CutChunk> out;
  for (audio::StreamChunk& chunk : chunks) {
    audio::PcmAudio pcm;
    pcm.sample_rate = options_.preprocess.decode.target_sample_rate;
    pcm.channels = channels_;
    pcm.samples = std::move(chunk.samples);
    if (options_.preprocess.normalize_loudness) {
      // Each chunk on its own, as it is cut. Fails only when libebur128
      // cannot allocate; the chunk then goes as it is.
      (void)audio::NormalizeLoudness(pcm, options_.preprocess.loudness);
    }
    out.push_back({first_index + out.size(), audio::EncodeWav(pcm)});
    chunk.samples = std::vector<float>();  // keep the frames, free the audio
  }
  return out;
}

void TranscriptionJob::DispatchMore() {
  while (true) {
    std::size_t index;
    upstream::TranscriptionRequest request = options_.request;
    {
      absl::MutexLock lock(&mu_);
      const std::size_t running = sent_ - answered_;
      if (cancelled_ || finished_ || waiting_.empty() ||
          running >= static_cast<std::size_t>(options_.max_chunks_in_flight) ||
          asleep_ || !TakeSharedSlotLocked()) {
        return;
      }
      index = waiting_.front().index;
      request.audio = std::move(waiting_.front().wav);
      waiting_.pop_front();
      ++sent_;
      if (upstream_start_ == absl::InfiniteFuture())
        upstream_start_ = absl::Now();
    }
    request.audio_format = "wav";
    std::weak_ptr<TranscriptionJob> weak = weak_from_this();
    std::shared_ptr<upstream::Transfer> transfer = backend_.Transcribe(
        std::move(request), options_.call,
        [weak, index, budget = options_.shared_budget](
            absl::StatusOr<upstream::Transcription> result) {
          if (budget != nullptr) budget->Release();
          if (auto job = weak.lock())
            job->OnChunkDone(index, std::move(result));
        });
    bool abandoned;
    {
      absl::MutexLock lock(&mu_);
      // A cancel or failure may have come while the request was being started:
      // it missed this transfer, so stop it here.
      abandoned = finished_;
      if (!abandoned) in_flight_[index] = transfer;
    }
    if (abandoned) transfer->Cancel();
  }
}

bool TranscriptionJob::TakeSharedSlotLocked() {
  if (options_.shared_budget == nullptr) return true;
  std::weak_ptr<TranscriptionJob> weak = weak_from_this();
  if (options_.shared_budget->TryTake([weak] {
        if (auto job = weak.lock()) job->Wake();
      })) {
    return true;
  }
  asleep_ = true;
  return false;
}

void TranscriptionJob::Wake() {
  {
    absl::MutexLock lock(&mu_);
    asleep_ = false;
  }
  DispatchMore();
}

void TranscriptionJob::OnChunkDone(
    std::size_t index, absl::StatusOr<upstream::Transcription> result) {
  if (!result.ok()) {
    Finish(absl::Status(
        result.status().code(),
        absl::StrCat("chunk ", index + 1, ": ", result.status().message())));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    in_flight_[index].reset();
    GiveDecoded(chunk_bytes_[index]);
    held_bytes_ -= std::exchange(chunk_bytes_[index], 0);
    upstream::Usage& usage = outcome_.usage;
    usage.input_tokens += result->usage.input_tokens;
    usage.audio_tokens += result->usage.audio_tokens;
    usage.output_tokens += result->usage.output_tokens;
    usage.total_tokens += result->usage.total_tokens;
    if (outcome_.model.empty()) outcome_.model = result->model;
    chunks_[index].transcription = *std::move(result);
    ++answered_;
  }
  Pump();
  MaybeComplete();
}

void TranscriptionJob::MaybeComplete() {
  TranscriptionOutcome outcome;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || completing_ || !audio_over_ ||
        answered_ != chunks_.size()) {
      return;
    }
    completing_ = true;
    outcome_.upstream_time = absl::Now() - upstream_start_;
    outcome_.usage.audio_seconds = outcome_.audio_seconds;
    outcome_.transcript = Stitch(chunks_);
    outcome = std::move(outcome_);
  }
  Finish(std::move(outcome));
}

void TranscriptionJob::Finish(absl::StatusOr<TranscriptionOutcome> outcome) {
  std::vector<std::shared_ptr<upstream::Transfer>> abandoned;
  Done done;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    done = std::move(done_);
    if (!outcome.ok()) abandoned.swap(in_flight_);
    // A running step gives back its own reservation when it returns.
    GiveDecoded(std::exchange(held_bytes_, 0));
    std::deque<CutChunk>().swap(waiting_);
  }
  // A failed chunk ends the job: the others are not worth waiting for.
  for (auto& transfer : abandoned) {
    if (transfer != nullptr) transfer->Cancel();
  }
  done(std::move(outcome));
}

void TranscriptionJob::Cancel() {
  std::vector<std::shared_ptr<upstream::Transfer>> transfers;
  {
    absl::MutexLock lock(&mu_);
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    transfers = in_flight_;
  }
  for (auto& transfer : transfers) {
    if (transfer != nullptr) transfer->Cancel();
  }
  // Whatever the job is doing (queued, decoding, waiting on chunks), it ends
  // now, reported from the timer thread; the chunks' own ends find it over.
  timers_.Post([job = shared_from_this()] {
    job->Finish(absl::CancelledError("the caller cancelled the call"));
  });
}

}  // namespace voxgate::operations
