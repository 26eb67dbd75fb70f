#ifndef VOXGATE_OPERATIONS_STREAM_SESSION_H_
#define VOXGATE_OPERATIONS_STREAM_SESSION_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "audio/container_stream_decoder.h"
#include "audio/endpointer.h"
#include "audio/stream_resampler.h"
#include "common/cancel_scope.h"
#include "common/worker_pool.h"
#include "operations/api_mapping.h"
#include "operations/stream_settings.h"
#include "call/call_context.h"
#include "call/call_metrics.h"
#include "config/config.h"
#include "operations/session_outbox.h"
#include "upstream/routing.h"
#include "voxgate/v1/stream.pb.h"

namespace voxgate::operations {

// One StreamTranscribe stream's audio, with no gRPC in it: what a front door
// feeds (a config, then audio pieces and controls, then the end of input) and
// what comes out (responses in order, when it wants more input, and its end).
//
// Each piece is decoded, resampled and endpointed on the audio workers, one
// job at a time; the session asks for more input only when that job is done
// and fewer than kMaxPending utterances wait for the backend (so a slow
// stream slows its client instead of buffering). Each utterance goes to the
// backend as it ends; final results come back in utterance order with
// stream-timeline offsets, interim results while an utterance is in progress.
//
// Thread-safe. Output is called outside the session's lock, one call at a
// time, in order; OnEnd is the last call, and comes only when no job or
// backend request of the session is left.
class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  class Output {
   public:
    virtual ~Output() = default;
    virtual void OnResponse(v1::StreamTranscribeResponse response) = 0;
    // The session can take the next piece of input.
    virtual void OnReadyForInput() = 0;
    // Exactly once, last: OK after the input ended and every result went out,
    // or the error that ended the stream.
    virtual void OnEnd(absl::Status status) = 0;
  };

  static constexpr int kMaxPending = 4;

  // `call` is the call's context (request id, deadline, audio seconds; the
  // session writes audio_seconds when it ends). Everything must outlive the
  // session's end (OnEnd).
  StreamSession(const Config& config, upstream::Routing& routing,
                WorkerPool& workers, call::CallMetrics& metrics, call::CallContext& call,
                Output& output);

  // The first message. INVALID_ARGUMENT naming the field, or the routing
  // error; the session then ends with it.
  void Configure(const v1::StreamTranscribeConfig& config);
  // A piece of audio, or FINALIZE_UTTERANCE (empty `audio`, finalize true).
  // Call only after OnReadyForInput.
  void Push(std::string audio, bool finalize);
  // Half-close: flushes the last utterance; the session ends once its
  // results are out.
  void EndOfInput();
  // Ends the stream with `status` (the first failure wins): drops what waits
  // to go out and cancels backend requests.
  void Fail(absl::Status status);

 private:
  // Holds mu_; on release delivers what was queued under it.
  using Lock = SessionLock<StreamSession>;
  friend Lock;

  void SubmitLocked(std::string bytes, bool end_of_input, bool finalize)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On a worker: decode, resample and endpoint `bytes`.
  void Process(std::string bytes, bool end_of_input, bool finalize);
  void ProcessLocked(std::string bytes, std::vector<float> pcm,
                     bool end_of_input, bool finalize)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleEventsLocked(std::vector<audio::EndpointEvent> events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // While an utterance is in progress: transcribe what there is of it, at
  // most one request at a time, every interim_interval of audio.
  void MaybeInterimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts a backend request for `samples`; drops mu_ meanwhile.
  void SendLocked(
      std::vector<float> samples,
      std::function<void(absl::StatusOr<upstream::Transcription>)> done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `start` with mu_ released, as one of the session's requests.
  void StartTrackedLocked(
      const std::function<std::shared_ptr<upstream::Transfer>(
          std::function<void()> finished)>& start)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnUtterance(int index, absl::StatusOr<upstream::Transcription> result);
  void OnInterim(int index, int64_t start_frame, int64_t end_frame,
                 absl::StatusOr<upstream::Transcription> result);
  void EmitReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EmitLocked(v1::StreamTranscribeResponse response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeEndLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Deliver();

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  call::CallMetrics& metrics_;
  call::CallContext& call_;
  Output& output_;
  // Backend requests in flight; cancelled as a whole when the stream fails or
  // a single utterance is done.
  CancelScope requests_;

  mutable absl::Mutex mu_;
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  bool processing_ ABSL_GUARDED_BY(mu_) = false;
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool asked_for_input_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;  // backend requests
  v1::StreamTranscribeConfig stream_config_ ABSL_GUARDED_BY(mu_);
  StreamSettings settings_ ABSL_GUARDED_BY(mu_);
  upstream::TranscriptionBackend* backend_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Interim results from an engine that decodes incrementally; null for
  // model servers.
  std::unique_ptr<upstream::IncrementalTranscriber> incremental_
      ABSL_GUARDED_BY(mu_);
  std::string upstream_model_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<audio::StreamResampler> resampler_ ABSL_GUARDED_BY(mu_);
  // For encoded container streams. Used only by the stream's one worker job
  // at a time (processing_), outside mu_: decoding waits for the demuxer.
  std::unique_ptr<audio::ContainerStreamDecoder> container_;
  std::unique_ptr<audio::Endpointer> endpointer_ ABSL_GUARDED_BY(mu_);
  bool wav_header_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::string wav_header_ ABSL_GUARDED_BY(mu_);
  int next_utterance_ ABSL_GUARDED_BY(mu_) = 0;
  int next_to_emit_ ABSL_GUARDED_BY(mu_) = 0;
  // Utterances whose results are no longer wanted start here (after a
  // single utterance's result).
  std::optional<int> last_wanted_ ABSL_GUARDED_BY(mu_);
  std::map<int, v1::StreamTranscribeResponse> ready_ ABSL_GUARDED_BY(mu_);
  std::set<int> answered_ ABSL_GUARDED_BY(mu_);
  bool first_response_ ABSL_GUARDED_BY(mu_) = true;
  bool interim_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_interim_frames_ ABSL_GUARDED_BY(mu_) = 0;

  // What goes out, in order, outside mu_.
  SessionOutbox<v1::StreamTranscribeResponse> outbox_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_STREAM_SESSION_H_
