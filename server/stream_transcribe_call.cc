#include "server/stream_transcribe_call.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_duration.h"
#include "server/wire_messages.h"

namespace voxgate::server {

StreamTranscribeCall::StreamTranscribeCall(grpc::CallbackServerContext* context,
                                           const CallServices& services,
                                           const Config& config,
                                           upstream::Routing& routing,
                                           WorkerPool& workers,
                                           TimerQueue& timers)
    : CallReactor(context,
                  {"StreamTranscribe", MethodClass::kTranscription,
                   /*long_lived_stream=*/true},
                  services),
      config_(config),
      routing_(routing),
      workers_(workers),
      timers_(timers),
      idle_timeout_(ToAbsl(config.limits().stream_idle_timeout())) {}

void StreamTranscribeCall::Start() {
  Lock lock(this);
  admitting_ = false;
  if (end_status_.has_value()) return MaybeFinishLocked();  // cancelled first
  session_ = std::make_shared<StreamSession>(config_, routing_, workers_,
                                             metrics_, call_, *this);
  ReadLocked();  // the config
}

void StreamTranscribeCall::Refused(absl::Status status) {
  Lock lock(this);
  admitting_ = false;
  if (!end_status_.has_value()) end_status_ = std::move(status);
  MaybeFinishLocked();
}

void StreamTranscribeCall::ReadLocked() {
  if (reading_ || input_closed_ || finished_ || end_status_.has_value()) return;
  reading_ = true;
  read_started_ = absl::Now();
  if (timer_ == 0) ArmTimerLocked(read_started_);
  AfterUnlock([this] { StartRead(&reading_bytes_); });
}

void StreamTranscribeCall::OnReadDone(bool ok) {
  std::shared_ptr<StreamSession> session;
  {
    Lock lock(this);
    reading_ = false;
    if (!ok) input_closed_ = true;
    if (finished_ || end_status_.has_value()) return MaybeFinishLocked();
    session = session_;
  }
  // The session is called without mu_: it calls back into this call.
  if (!ok) return session->EndOfInput();  // half-close: flush, then end
  metrics_.MessageReceived("StreamTranscribe");
  if (absl::Status parsed = ParseMessage(reading_bytes_, request_);
      !parsed.ok()) {
    return session->Fail(parsed);
  }
  switch (request_.request_case()) {
    case v1::StreamTranscribeRequest::kConfig:
      return session->Configure(request_.config());
    case v1::StreamTranscribeRequest::kAudio:
      return session->Push(std::move(*request_.mutable_audio()), false);
    case v1::StreamTranscribeRequest::kControl:
      if (request_.control() != v1::STREAM_CONTROL_FINALIZE_UTTERANCE) {
        return session->Fail(
            absl::InvalidArgumentError("control: unknown action"));
      }
      return session->Push("", true);
    default:
      return session->Fail(absl::InvalidArgumentError(
          "a message must carry config, audio or control"));
  }
}

void StreamTranscribeCall::OnReadyForInput() {
  Lock lock(this);
  ReadLocked();
}

void StreamTranscribeCall::OnResponse(v1::StreamTranscribeResponse response) {
  Lock lock(this);
  if (finished_) return;
  queue_.push_back(std::move(response));
  PumpLocked();
}

void StreamTranscribeCall::OnEnd(absl::Status status) {
  Lock lock(this);
  session_ended_ = true;
  if (!end_status_.has_value()) end_status_ = std::move(status);
  if (!end_status_->ok()) queue_.clear();  // an error ends the stream now
  MaybeFinishLocked();
}

void StreamTranscribeCall::PumpLocked() {
  if (write_in_flight_ || finished_ || queue_.empty()) return;
  writing_ = SerializeMessage(queue_.front());
  queue_.pop_front();
  write_in_flight_ = true;
  AfterUnlock([this] { StartWrite(&writing_); });
}

void StreamTranscribeCall::OnWriteDone(bool ok) {
  Lock lock(this);
  write_in_flight_ = false;
  if (!ok) return FailLocked(absl::CancelledError("the client went away"));
  metrics_.MessageSent("StreamTranscribe");
  PumpLocked();
  MaybeFinishLocked();
}

void StreamTranscribeCall::OnCallerCancelled() {
  Lock lock(this);
  FailLocked(absl::CancelledError("the caller cancelled the stream"));
}

void StreamTranscribeCall::FailLocked(absl::Status status) {
  queue_.clear();
  if (session_ != nullptr && !session_ended_) {
    // The session ends with it (OnEnd) once its work has stopped.
    AfterUnlock([session = session_, status = std::move(status)] {
      session->Fail(status);
    });
    return;
  }
  if (!end_status_.has_value()) end_status_ = std::move(status);
  MaybeFinishLocked();
}

void StreamTranscribeCall::ArmTimerLocked(absl::Time idle_since) {
  // The next time the stream may be idle too long, or out of time.
  absl::Time when = call_.deadline;
  if (idle_timeout_ > absl::ZeroDuration())
    when = std::min(when, idle_since + idle_timeout_);
  timer_ = timers_.Schedule(when, [this] { OnTimer(); });
}

void StreamTranscribeCall::OnTimer() {
  Lock lock(this);
  timer_ = 0;
  if (finished_ || end_status_.has_value() || session_ended_)
    return MaybeFinishLocked();
  const absl::Time now = absl::Now();
  if (now >= call_.deadline) {
    return FailLocked(absl::DeadlineExceededError(
        "the stream reached its deadline (the caller's, or "
        "limits.default_stream_deadline when it set none)"));
  }
  // Only a read waiting on the client counts: while the gateway itself holds
  // back (a worker job, backpressure) the client is not idle.
  if (reading_ && idle_timeout_ > absl::ZeroDuration() &&
      now - read_started_ >= idle_timeout_) {
    return FailLocked(absl::DeadlineExceededError(absl::StrCat(
        "no message from the client for ", absl::FormatDuration(idle_timeout_),
        " (limits.stream_idle_timeout); send audio, or half-close to end "
        "the stream")));
  }
  ArmTimerLocked(reading_ ? read_started_ : now);
}

void StreamTranscribeCall::MaybeFinishLocked() {
  // A pending read may stay open (Finish completes it). Admission and the
  // session call back into this call, so they must be over first.
  if (finished_ || write_in_flight_ || admitting_) return;
  if (session_ != nullptr && !session_ended_) return;
  if (!end_status_.has_value()) return;
  if (end_status_->ok() && !queue_.empty()) return;
  if (timer_ != 0) {
    // A timer that already fired is about to call back into this call; wait
    // for it (it comes back here).
    if (!timers_.Cancel(timer_)) return;
    timer_ = 0;
  }
  finished_ = true;
  const grpc::Status grpc_status = Conclude(*end_status_);
  AfterUnlock([this, grpc_status] { Finish(grpc_status); });
}

}  // namespace voxgate::server
