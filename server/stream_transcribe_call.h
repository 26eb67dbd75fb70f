#ifndef VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
#define VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_

#include <deque>
#include <memory>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "common/timer_queue.h"
#include "common/worker_pool.h"
#include "grpcpp/grpcpp.h"
#include "server/call_reactor.h"
#include "server/config/config.h"
#include "server/stream_session.h"
#include "upstream/routing.h"
#include "voxgate/v1/stream.pb.h"

namespace voxgate::server {

// StreamTranscribe's gRPC side: reads messages one at a time when its
// StreamSession asks for input, writes what the session emits (one write in
// flight, the rest queued), and finishes once the session has ended and the
// writes are out. It also ends streams whose client is silent for
// limits.stream_idle_timeout (DEADLINE_EXCEEDED), or that outlive their
// deadline. All audio work is the session's.
class StreamTranscribeCall final
    : public CallReactor<
          grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>>,
      public StreamSession::Output {
 public:
  StreamTranscribeCall(grpc::CallbackServerContext* context,
                       const CallServices& services, const Config& config,
                       upstream::Routing& routing, WorkerPool& workers,
                       TimerQueue& timers);
  void Begin() { Admit(0); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;

 private:
  void Start() override;
  void Refused(absl::Status status) override;
  void OnCallerCancelled() override;

  // StreamSession::Output.
  void OnResponse(v1::StreamTranscribeResponse response) override;
  void OnReadyForInput() override;
  void OnEnd(absl::Status status) override;

  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails the session (outside mu_), or the call when there is none yet.
  void FailLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms the timer for the stream's deadline or, counting from `idle_since`,
  // its idle timeout, whichever comes first.
  void ArmTimerLocked(absl::Time idle_since) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnTimer();

  const Config& config_;
  upstream::Routing& routing_;
  WorkerPool& workers_;
  TimerQueue& timers_;
  const absl::Duration idle_timeout_;

  std::shared_ptr<StreamSession> session_;  // set once admitted
  grpc::ByteBuffer reading_bytes_;          // the read in flight
  v1::StreamTranscribeRequest request_;
  grpc::ByteBuffer writing_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::StreamTranscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool admitting_ ABSL_GUARDED_BY(mu_) = true;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool input_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool session_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> end_status_ ABSL_GUARDED_BY(mu_);
  absl::Time read_started_ ABSL_GUARDED_BY(mu_);
  // Pending idle/deadline timer (0: none). The call does not finish while
  // its callback may still run.
  TimerQueue::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_STREAM_TRANSCRIBE_CALL_H_
