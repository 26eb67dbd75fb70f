#include "server/transcription_job.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/wav.h"

namespace voxgate::server {

std::shared_ptr<TranscriptionJob> TranscriptionJob::Start(
    std::string audio, TranscriptionJobOptions options,
    upstream::TranscriptionBackend& backend, WorkerPool& workers,
    TimerQueue& timers, Done done) {
  auto job = std::make_shared<TranscriptionJob>(
      std::move(audio), std::move(options), backend, timers, std::move(done));
  absl::Status queued = workers.TrySubmit([job] { job->Preprocess(); });
  if (!queued.ok()) {
    timers.Post([job, queued] { job->Finish(queued); });
  }
  return job;
}

void TranscriptionJob::Preprocess() {
  const absl::Time started = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    outcome_.queue_time = started - created_;
  }
  if (started >= options_.call.deadline) {
    Finish(absl::DeadlineExceededError(
        "deadline passed while waiting for an audio worker"));
    return;
  }
  audio::PreprocessOptions preprocess = options_.preprocess;
  preprocess.decode.max_wall_time = std::min(preprocess.decode.max_wall_time,
                                             options_.call.deadline - started);
  absl::StatusOr<audio::PreprocessedAudio> processed =
      audio::Preprocess(audio_, preprocess);
  std::string().swap(audio_);  // the encoded input is no longer needed
  if (!processed.ok()) {
    Finish(processed.status());
    return;
  }
  const audio::PcmAudio& pcm = processed->pcm;
  const std::vector<audio::Chunk> cuts =
      audio::SegmentAudio(pcm, options_.segment);
  std::vector<std::string> wavs;
  std::vector<ChunkTranscript> chunks;
  const double rate = pcm.sample_rate;
  for (const audio::Chunk& cut : cuts) {
    wavs.push_back(audio::EncodeWav(pcm, cut.start_frame, cut.end_frame));
    ChunkTranscript chunk;
    chunk.start_seconds = cut.start_frame / rate;
    chunk.core_start_seconds = cut.core_start_frame / rate;
    chunk.end_seconds = cut.end_frame / rate;
    chunks.push_back(std::move(chunk));
  }
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    wavs_ = std::move(wavs);
    chunks_ = std::move(chunks);
    in_flight_.resize(chunks_.size());
    outcome_.audio_seconds = pcm.duration_seconds();
    outcome_.chunks = static_cast<int>(chunks_.size());
    outcome_.preprocess_time = absl::Now() - started;
    upstream_start_ = absl::Now();
  }
  DispatchMore();
}

void TranscriptionJob::DispatchMore() {
  while (true) {
    std::size_t index;
    upstream::TranscriptionRequest request = options_.request;
    {
      absl::MutexLock lock(&mu_);
      const std::size_t running = next_chunk_ - answered_;
      if (cancelled_ || finished_ || next_chunk_ >= chunks_.size() ||
          running >= static_cast<std::size_t>(options_.max_chunks_in_flight) ||
          asleep_ || !TakeSharedSlotLocked()) {
        return;
      }
      index = next_chunk_++;
      request.audio = std::move(wavs_[index]);
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
  bool complete;
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    in_flight_[index].reset();
    upstream::Usage& usage = outcome_.usage;
    usage.input_tokens += result->usage.input_tokens;
    usage.audio_tokens += result->usage.audio_tokens;
    usage.output_tokens += result->usage.output_tokens;
    usage.total_tokens += result->usage.total_tokens;
    if (outcome_.model.empty()) outcome_.model = result->model;
    chunks_[index].transcription = *std::move(result);
    complete = ++answered_ == chunks_.size();
  }
  if (!complete) {
    DispatchMore();
    return;
  }
  TranscriptionOutcome outcome;
  {
    absl::MutexLock lock(&mu_);
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

}  // namespace voxgate::server
