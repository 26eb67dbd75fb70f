#ifndef VOXGATE_OPERATIONS_UPLOAD_SESSION_H_
#define VOXGATE_OPERATIONS_UPLOAD_SESSION_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "audio/container_stream_decoder.h"
#include "audio/decoder.h"
#include "audio/segmenter.h"
#include "audio/stream_resampler.h"
#include "common/cancel_scope.h"
#include "call/call_context.h"
#include "call/call_scope.h"
#include "operations/operation_services.h"
#include "operations/session_outbox.h"
#include "operations/stitcher.h"
#include "operations/transcription_job.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::operations {

// One TranscribeUpload's audio, with no gRPC in it: a config, then pieces of
// a file, then the end of input; out come progress messages, the result, and
// the end.
//
// Pieces are decoded as they arrive (one worker job at a time) and cut at
// silences as soon as a chunk's worth is in (audio::StreamSegmenter); each
// chunk is loudness-normalised on its own, encoded as WAV and sent upstream,
// at most limits.max_chunks_in_flight at once. The session asks for the next
// piece only when its job is done and fewer than kMaxWaitingChunks chunks
// wait for a slot upstream, so the client uploads no faster than the backend
// transcribes, and memory holds a few chunks whatever the file's length.
// MP4/M4A, whose index may come last, is written to an unlinked temporary
// file (never kept in memory), then decoded from it step by step with the
// same bound. At the end the chunks' answers are stitched as Transcribe's.
//
// Thread-safe. Output is called outside the session's lock, one call at a
// time, in order; OnEnd is the last call, and comes only when no job or
// backend request of the session is left.
class UploadSession : public std::enable_shared_from_this<UploadSession> {
 public:
  class Output {
   public:
    virtual ~Output() = default;
    virtual void OnResponse(v1::TranscribeUploadResponse response) = 0;
    // The session can take the next piece of input.
    virtual void OnReadyForInput() = 0;
    // Exactly once, last: OK after the result went out, or the error.
    virtual void OnEnd(absl::Status status) = 0;
  };

  static constexpr std::size_t kMaxPiece = 1 << 20;
  static constexpr std::size_t kMaxWaitingChunks = 2;

  // `pool` receives the serving pool's name; everything must outlive the
  // session's end (OnEnd).
  UploadSession(const OperationServices& services, call::CallContext& call,
                std::string& pool, Output& output);
  ~UploadSession();

  // The first message. INVALID_ARGUMENT naming the field, PERMISSION_DENIED
  // for a model the caller may not use, or the routing error.
  void Configure(const v1::TranscribeUploadConfig& config);
  // The next piece of the file. Call only after OnReadyForInput.
  void Push(std::string audio);
  // Half-close: the file is complete.
  void EndOfInput();
  // Ends the upload with `status` (the first failure wins).
  void Fail(absl::Status status);

 private:
  // Holds mu_; on release delivers what was queued under it.
  using Lock = SessionLock<UploadSession>;
  friend Lock;
  enum class Input { kUndecided, kContainer, kRaw, kSpool };
  struct CutChunk {
    int index = 0;
    audio::Chunk frames;
    std::string wav;
  };
  // What one worker job produced.
  struct JobResult {
    absl::Status status;
    std::vector<CutChunk> chunks;
    int64_t frames_seen = 0;
    bool audio_over = false;  // the segmenter has cut the last chunk
    absl::Duration took;
  };

  void SubmitLocked(std::string bytes, bool end_of_input)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On a worker, outside mu_ (one job at a time uses the decoders, the spool
  // file and the segmenter).
  JobResult Process(std::string bytes, bool end_of_input);
  absl::Status Decode(std::string bytes, bool end_of_input,
                      std::vector<float>& pcm, bool& audio_over);
  absl::Status ChooseInput(absl::string_view first_bytes);
  absl::Status Spool(absl::string_view bytes);
  std::vector<CutChunk> Encode(std::vector<audio::StreamChunk> chunks);
  void Finished(JobResult result);

  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnChunk(int index, absl::StatusOr<upstream::Transcription> result);
  void EmitProgressLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks the client for input, or decodes the next step of the spool file.
  void ContinueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeEndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver();

  const OperationServices services_;
  call::CallContext& call_;
  std::string& pool_;
  Output& output_;
  CancelScope requests_;
  SessionOutbox<v1::TranscribeUploadResponse> outbox_;

  // Set by Configure, then read-only (worker jobs read them outside mu_).
  TranscriptionJobOptions options_;
  upstream::TranscriptionBackend* backend_ = nullptr;
  v1::RecognitionConfig recognition_;
  std::vector<std::string> warnings_;
  int rate_ = 16000;

  // Used by the one worker job at a time, outside mu_.
  Input input_ = Input::kUndecided;
  std::string sniffed_;  // the first bytes, until there are enough to sniff
  v1::AudioFormat format_;
  std::unique_ptr<audio::ContainerStreamDecoder> container_;
  std::unique_ptr<audio::StreamResampler> raw_;
  int spool_fd_ = -1;
  int64_t spooled_bytes_ = 0;
  int64_t budgeted_bytes_ =
      0;  // taken from services_.spool, given back at the end
  std::unique_ptr<audio::FileDecoder> spool_decoder_;
  std::unique_ptr<audio::StreamSegmenter> segmenter_;
  int next_index_ = 0;

  absl::Mutex mu_;
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  bool processing_ ABSL_GUARDED_BY(mu_) = false;
  bool asked_for_input_ ABSL_GUARDED_BY(mu_) = false;
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool audio_over_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int64_t bytes_received_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t declared_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t frames_seen_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<CutChunk> waiting_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<ChunkTranscript> chunks_ ABSL_GUARDED_BY(mu_);
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
  double seconds_transcribed_ ABSL_GUARDED_BY(mu_) = 0;
  upstream::Usage usage_ ABSL_GUARDED_BY(mu_);
  std::string model_ ABSL_GUARDED_BY(mu_);
  absl::Time upstream_start_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_UPLOAD_SESSION_H_
