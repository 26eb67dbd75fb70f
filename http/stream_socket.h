#ifndef VOXGATE_HTTP_STREAM_SOCKET_H_
#define VOXGATE_HTTP_STREAM_SOCKET_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "call/call_metrics.h"
#include "call/call_scope.h"
#include "common/cancel_scope.h"
#include "common/timer_queue.h"
#include "http/http_call.h"
#include "http/http_types.h"
#include "operations/operation_services.h"
#include "operations/stream_session.h"

namespace voxgate::http {

// StreamTranscribe over a WebSocket (/v1/stream/transcribe): the first text
// message is the StreamTranscribeConfig in the proto's JSON mapping; then
// binary messages of audio, and text controls {"type": "finalize"} (end the
// current utterance) and {"type": "end"} (no more audio: flush, send the last
// results, close 1000). Each StreamTranscribeResponse goes out as one JSON
// text message. The same StreamSession runs it as for gRPC; the socket is
// read only when the session wants input and fewer than kMaxUnsent messages
// wait to go out, so a slow client slows itself only. The close code tells
// the outcome (WebSocketCloseCodeFor; 1009 for a message over the limit).
// As over gRPC, a client silent for limits.stream_idle_timeout while the
// stream waits for it, or a stream past its deadline
// (limits.default_stream_deadline), ends with DEADLINE_EXCEEDED (4004); a
// cancel of the call (the server stopping) ends it with UNAVAILABLE (4014).
class StreamSocket final : public operations::StreamSession::Output,
                           public std::enable_shared_from_this<StreamSocket> {
 public:
  static constexpr int kMaxUnsent = 16;

  StreamSocket(std::shared_ptr<WebSocketConnection> connection,
               std::shared_ptr<HttpCall> call,
               const operations::OperationServices& operations,
               call::CallMetrics& metrics);
  // Once admitted (`admitted` OK), reads the config; otherwise closes with
  // the refusal.
  void Begin(absl::Status admitted);

  void OnResponse(v1::StreamTranscribeResponse response) override;
  void OnReadyForInput() override;
  void OnEnd(absl::Status status) override;

 private:
  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnMessage(absl::StatusOr<WebSocketMessage> message);
  void OnSent();
  // Arms the timer for the stream's deadline or, counting from
  // `idle_since`, its idle timeout, whichever comes first.
  void ArmTimerLocked(absl::Time idle_since) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnTimer();

  const std::shared_ptr<WebSocketConnection> connection_;
  const std::shared_ptr<HttpCall> call_;
  const operations::OperationServices operations_;
  call::CallMetrics& metrics_;
  const call::StreamWatchdog watchdog_;
  absl::Mutex mu_;
  // Null once the stream has ended: a read or timer completing after that
  // finds no session.
  std::shared_ptr<operations::StreamSession> session_ ABSL_GUARDED_BY(mu_);
  // Keeps the socket alive until the session has ended.
  std::shared_ptr<StreamSocket> self_ ABSL_GUARDED_BY(mu_);
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  bool wants_input_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int unsent_ ABSL_GUARDED_BY(mu_) = 0;
  int too_big_close_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time read_started_ ABSL_GUARDED_BY(mu_);
  TimerQueue::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
  CancelScope::Key cancel_key_ = 0;
};

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_STREAM_SOCKET_H_
