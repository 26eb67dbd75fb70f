#ifndef VOXGATE_OPERATIONS_TRANSCRIPTION_JOB_H_
#define VOXGATE_OPERATIONS_TRANSCRIPTION_JOB_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audio/decoder.h"
#include "audio/preprocess.h"
#include "audio/segmenter.h"
#include "common/byte_budget.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "call/chunk_budget.h"
#include "operations/stitcher.h"
#include "upstream/backend.h"

namespace voxgate::operations {

struct TranscriptionJobOptions {
  audio::PreprocessOptions preprocess;
  audio::SegmentOptions segment;
  // Every chunk's request, with the chunk's WAV in `audio`.
  upstream::TranscriptionRequest request;
  int max_chunks_in_flight = 8;
  // Shared with other jobs (a batch's files): a chunk is sent only with a
  // slot from it too. Null: only max_chunks_in_flight bounds the job.
  std::shared_ptr<call::ChunkBudget> shared_budget;
  // Decoded audio over all calls (audio.max_decoded_bytes); null: unbounded.
  ByteBudget* decoded_budget = nullptr;
  upstream::CallOptions call;
};

struct TranscriptionOutcome {
  StitchedTranscript transcript;
  double audio_seconds = 0;
  upstream::Usage usage;
  std::string model;
  int chunks = 0;
  absl::Duration queue_time;       // waiting for an audio worker, first time
  absl::Duration preprocess_time;  // decode, resample, normalise, cut, encode
  absl::Duration upstream_time;    // first chunk sent to last chunk answered
};

// One Transcribe: decodes the file chunk by chunk on the audio workers, cuts
// at silences as it goes (audio::StreamSegmenter), normalises and encodes
// each chunk on its own, sends the chunks to the backend concurrently
// (bounded), and stitches the answers in order. The next chunk is decoded
// only while fewer than kMaxWaitingChunks wait for a slot upstream, so the
// decoded audio held is a few chunks whatever the file's length: the encoded
// input, the audio not yet cut, and the chunks not yet answered, all taken
// from `decoded_budget`. Knows nothing of gRPC. Thread-safe.
class TranscriptionJob : public std::enable_shared_from_this<TranscriptionJob> {
 public:
  using Done = std::function<void(absl::StatusOr<TranscriptionOutcome>)>;

  static constexpr std::size_t kMaxWaitingChunks = 2;
  // How soon a started job that found the decoded-audio budget full asks
  // again.
  static constexpr absl::Duration kBudgetRetry = absl::Milliseconds(50);

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
                   upstream::TranscriptionBackend& backend, WorkerPool& workers,
                   TimerQueue& timers, Done done);

 private:
  struct CutChunk {
    std::size_t index = 0;
    std::string wav;
  };
  // What one decode step produced.
  struct Step {
    absl::Status status;
    std::vector<audio::StreamChunk> chunks;
    bool audio_over = false;
    int64_t frames_seen = 0;
  };

  // Decodes the next chunk when there is room for it; sends what is cut.
  void Pump();
  void MaybeDecode();
  // On a worker, outside mu_ (one step at a time uses the decoder and the
  // segmenter).
  void DecodeStep();
  Step Decode();
  // Normalises and encodes each chunk, leaving its frames and freeing its
  // samples.
  std::vector<CutChunk> Encode(std::vector<audio::StreamChunk>& chunks,
                               std::size_t first_index) const;
  void DispatchMore();
  // With a shared budget: takes a slot from it, or sleeps until one frees.
  bool TakeSharedSlotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();
  void OnChunkDone(std::size_t index,
                   absl::StatusOr<upstream::Transcription> result);
  // Stitches and finishes once the audio is over and every chunk answered.
  void MaybeComplete();
  void Finish(absl::StatusOr<TranscriptionOutcome> outcome);
  // The most one decode step may add to the decoded audio held.
  int64_t StepBytes() const;
  void GiveDecoded(int64_t bytes) {
    if (options_.decoded_budget != nullptr) options_.decoded_budget->Give(bytes);
  }

  const TranscriptionJobOptions options_;
  upstream::TranscriptionBackend& backend_;
  WorkerPool& workers_;
  TimerQueue& timers_;
  Done done_;
  const absl::Time created_;
  const int channels_;

  // Used by the one decode step at a time, outside mu_.
  std::string audio_;  // the encoded input, until the decoder is done
  std::unique_ptr<audio::FileDecoder> decoder_;
  audio::StreamSegmenter segmenter_;
  bool first_step_ = true;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool decoding_ ABSL_GUARDED_BY(mu_) = false;  // a step is queued or running
  bool audio_over_ ABSL_GUARDED_BY(mu_) = false;
  bool completing_ ABSL_GUARDED_BY(mu_) = false;  // MaybeComplete took it
  // Of decoded_budget, apart from a running step's: the segmenter's audio
  // and every chunk not yet answered.
  int64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t segmenter_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> chunk_bytes_ ABSL_GUARDED_BY(mu_);
  std::deque<CutChunk> waiting_ ABSL_GUARDED_BY(mu_);
  std::vector<ChunkTranscript> chunks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<upstream::Transfer>> in_flight_
      ABSL_GUARDED_BY(mu_);
  std::size_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::size_t answered_ ABSL_GUARDED_BY(mu_) = 0;
  // A wake-up is waiting in the shared budget.
  bool asleep_ ABSL_GUARDED_BY(mu_) = false;
  TranscriptionOutcome outcome_ ABSL_GUARDED_BY(mu_);
  absl::Time upstream_start_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_TRANSCRIPTION_JOB_H_
