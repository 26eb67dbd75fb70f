#ifndef VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "audio/container_stream_decoder.h"
#include "audio/endpointer.h"
#include "audio/stream_resampler.h"
#include "common/worker_pool.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "server/call_context.h"
#include "server/call_metrics.h"
#include "server/config/config.h"
#include "server/guarded_reactor.h"
#include "common/timer_queue.h"
#include "upstream/upstreams.h"
#include "voxgate/v1/stream.pb.h"

namespace voxgate::server {

// StreamTranscribe: config first, then raw PCM (LINEAR16, MULAW, ALAW at the
// declared rate and channels, or a WAV stream). Each message is resampled and
// endpointed on the audio workers, one at a time per stream, and the next read
// starts only then, so a slow stream slows its client instead of buffering (at
// most kMaxPending utterances wait for the backend). Each utterance goes to the
// audio pool when it ends; final results come back in utterance order with
// stream-timeline offsets. Half-close flushes the last utterance and finishes
// OK.
class StreamTranscribeCall final
    : public GuardedReactor<grpc::ServerBidiReactor<
          v1::StreamTranscribeRequest, v1::StreamTranscribeResponse>> {
 public:
  StreamTranscribeCall(grpc::CallbackServerContext* context,
                       const Config& config, upstream::Upstreams& upstreams,
                       WorkerPool& workers, const Logger& logger,
                       Admission& admission, CallMetrics& metrics,
                       TimerQueue& timers, StreamSlots& stream_slots);
  ~StreamTranscribeCall() override;
  void Begin();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;

  static constexpr int kMaxPending = 4;

 private:
  absl::Status Configure(const v1::StreamTranscribeConfig& config)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On a worker: resample and endpoint `bytes` (or flush at end of input).
  void Process(std::string bytes, bool end_of_input, bool finalize);
  void ProcessLocked(std::string bytes, std::vector<float> pcm,
                     bool end_of_input, bool finalize)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the stream with DEADLINE_EXCEEDED when a read has waited on the
  // client for limits.stream_idle_timeout; re-arms itself otherwise.
  void OnIdleTimer();
  void ArmIdleTimerLocked(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleEventsLocked(std::vector<audio::EndpointEvent> events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnUtterance(int index, absl::StatusOr<upstream::Transcription> result);
  // While an utterance is in progress: transcribe what there is of it, at most
  // one request at a time per stream, every interim_interval of audio.
  void MaybeInterimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnInterim(int index, int64_t start_frame, int64_t end_frame,
                 absl::StatusOr<upstream::Transcription> result);
  // Starts a backend request tracked under `key` in in_flight_; drops mu_
  // meanwhile.
  void SendLocked(
      int key, std::vector<float> samples,
      std::function<void(absl::StatusOr<upstream::Transcription>)> done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `start` with mu_ released, tracking its transfer under `key` in
  // in_flight_ (cancelled at once if the call failed meanwhile).
  void StartTrackedLocked(
      int key,
      const std::function<std::shared_ptr<upstream::Transfer>()>& start)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EmitReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueLocked(v1::StreamTranscribeResponse response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  CallContext call_;
  const Config& config_;
  upstream::Upstreams& upstreams_;
  WorkerPool& workers_;
  const Logger& logger_;
  Admission& admission_;
  CallMetrics& metrics_;
  TimerQueue& timers_;
  StreamSlots& stream_slots_;
  // Released when the call finishes, or by the destructor.
  bool holds_stream_slot_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Admission::Ticket> ticket_;
  v1::StreamTranscribeRequest request_;  // the read in flight

  std::atomic<uint64_t> admission_wait_{0};

  bool waiting_admission_ ABSL_GUARDED_BY(mu_) = true;
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool processing_ ABSL_GUARDED_BY(mu_) = false;
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  v1::StreamTranscribeConfig stream_config_ ABSL_GUARDED_BY(mu_);
  upstream::TranscriptionBackend* backend_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Interim results from an engine that decodes incrementally; null for
  // model servers.
  std::unique_ptr<upstream::IncrementalTranscriber> incremental_
      ABSL_GUARDED_BY(mu_);
  std::string upstream_model_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<audio::StreamResampler> resampler_ ABSL_GUARDED_BY(mu_);
  // For encoded container streams. Used only by the stream's one worker job at
  // a time (processing_), outside mu_: decoding waits for the demuxer thread.
  std::unique_ptr<audio::ContainerStreamDecoder> container_;
  std::unique_ptr<audio::Endpointer> endpointer_ ABSL_GUARDED_BY(mu_);
  bool wav_header_pending_ ABSL_GUARDED_BY(mu_) = false;
  std::string wav_header_ ABSL_GUARDED_BY(mu_);
  int next_utterance_ ABSL_GUARDED_BY(mu_) = 0;
  int next_to_emit_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, v1::StreamTranscribeResponse> ready_ ABSL_GUARDED_BY(mu_);
  std::set<int> answered_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<upstream::Transfer>> in_flight_
      ABSL_GUARDED_BY(mu_);
  std::deque<v1::StreamTranscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  v1::StreamTranscribeResponse writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool first_response_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<std::string> warnings_ ABSL_GUARDED_BY(mu_);
  bool interim_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_interim_frames_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t interim_interval_frames_ ABSL_GUARDED_BY(mu_) = 16000;
  int64_t max_stream_frames_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration idle_timeout_ ABSL_GUARDED_BY(mu_);
  absl::Time read_started_ ABSL_GUARDED_BY(mu_);
  // Pending idle timer (0: none). The call does not finish while its callback
  // may still run.
  TimerQueue::TimerId idle_timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
