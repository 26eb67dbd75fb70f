#ifndef VOXGATE_SERVER_TRANSCRIPTION_JOB_H_
#define VOXGATE_SERVER_TRANSCRIPTION_JOB_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audio/preprocess.h"
#include "audio/segmenter.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "server/chunk_budget.h"
#include "server/stitcher.h"
#include "upstream/backend.h"

namespace voxgate::server {

struct TranscriptionJobOptions {
  audio::PreprocessOptions preprocess;
  audio::SegmentOptions segment;
  // Every chunk's request, with the chunk's WAV in `audio`.
  upstream::TranscriptionRequest request;
  int max_chunks_in_flight = 8;
  // Shared with other jobs (a batch's files): a chunk is sent only with a
  // slot from it too. Null: only max_chunks_in_flight bounds the job.
  std::shared_ptr<ChunkBudget> shared_budget;
  upstream::CallOptions call;
};

struct TranscriptionOutcome {
  StitchedTranscript transcript;
  double audio_seconds = 0;
  upstream::Usage usage;
  std::string model;
  int chunks = 0;
  absl::Duration queue_time;  // waiting for an audio worker
  absl::Duration
      preprocess_time;           // decode, resample, normalise, segment, encode
  absl::Duration upstream_time;  // first chunk sent to last chunk answered
};

// One Transcribe: preprocesses on the audio workers, cuts at silences, sends
// the chunks to the backend concurrently (bounded), and stitches the answers in
// order. Knows nothing of gRPC. Thread-safe.
class TranscriptionJob : public std::enable_shared_from_this<TranscriptionJob> {
 public:
  using Done = std::function<void(absl::StatusOr<TranscriptionOutcome>)>;

  // Starts the job; `done` runs exactly once, on a worker, upstream or timer
  // thread, never on this one. `backend`, `workers` and `timers` must outlive
  // the job.
  static std::shared_ptr<TranscriptionJob> Start(
      std::string audio, TranscriptionJobOptions options,
      upstream::TranscriptionBackend& backend, WorkerPool& workers,
      TimerQueue& timers, Done done);

  // Stops queued work and aborts every upstream request; `done` gets CANCELLED
  // (from the timer thread, never this one) unless it already ran.
  void Cancel();

  TranscriptionJob(std::string audio, TranscriptionJobOptions options,
                   upstream::TranscriptionBackend& backend, TimerQueue& timers,
                   Done done)
      : audio_(std::move(audio)),
        options_(std::move(options)),
        backend_(backend),
        timers_(timers),
        done_(std::move(done)),
        created_(absl::Now()) {}

 private:
  void Preprocess();
  void DispatchMore();
  // With a shared budget: takes a slot from it, or sleeps until one frees.
  bool TakeSharedSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();
  void OnChunkDone(std::size_t index,
                   absl::StatusOr<upstream::Transcription> result);
  void Finish(absl::StatusOr<TranscriptionOutcome> outcome);

  std::string audio_;
  const TranscriptionJobOptions options_;
  upstream::TranscriptionBackend& backend_;
  TimerQueue& timers_;
  Done done_;
  const absl::Time created_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> wavs_ ABSL_GUARDED_BY(mu_);
  std::vector<ChunkTranscript> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<upstream::Transfer>> in_flight_
      ABSL_GUARDED_BY(mu_);
  std::size_t next_chunk_ ABSL_GUARDED_BY(mu_) = 0;
  std::size_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  // A wake-up is waiting in the shared budget.
  bool asleep_ ABSL_GUARDED_BY(mu_) = false;
  TranscriptionOutcome outcome_ ABSL_GUARDED_BY(mu_);
  absl::Time upstream_start_ ABSL_GUARDED_BY(mu_);
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_TRANSCRIPTION_JOB_H_
