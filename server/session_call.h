#ifndef VOXGATE_SERVER_SESSION_CALL_H_
#define VOXGATE_SERVER_SESSION_CALL_H_

#include <deque>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/timer_queue.h"
#include "grpcpp/grpcpp.h"
#include "server/call_reactor.h"
#include "server/wire_messages.h"

namespace voxgate::server {

// The gRPC side of a bidi call whose work is a session (StreamTranscribe's
// StreamSession, TranscribeUpload's UploadSession): reads messages one at a
// time when the session asks for input, writes what the session emits (one
// write in flight, the rest queued), and finishes once the session has ended
// and the writes are out. It also ends calls whose client is silent for
// `idle_timeout` (DEADLINE_EXCEEDED), or that outlive their deadline.
//
// A Session has Output (OnResponse(Response), OnReadyForInput, OnEnd),
// EndOfInput() and Fail(status); subclasses make it and hand it each message.
template <typename Session, typename Response>
class SessionCall
    : public CallReactor<
          grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>>,
      public Session::Output {
 public:
  void Begin() { Admit(0); }

  void OnReadDone(bool ok) override {
    std::shared_ptr<Session> session;
    {
      Lock lock(this);
      reading_ = false;
      if (!ok) input_closed_ = true;
      if (finished_ || end_status_.has_value()) return MaybeFinishLocked();
      session = session_;
    }
    // The session is called without mu_: it calls back into this call.
    if (!ok) return session->EndOfInput();  // half-close: flush, then end
    metrics_.MessageReceived(method_name());
    Receive(*session, reading_bytes_);
  }

  void OnWriteDone(bool ok) override {
    Lock lock(this);
    write_in_flight_ = false;
    if (!ok) return FailLocked(absl::CancelledError("the client went away"));
    metrics_.MessageSent(method_name());
    PumpLocked();
    MaybeFinishLocked();
  }

 protected:
  SessionCall(grpc::CallbackServerContext* context, const call::Method& method,
              const call::CallServices& services, absl::Duration idle_timeout,
              TimerQueue& timers)
      : CallReactor(context, method, services),
        timers_(timers),
        watchdog_(idle_timeout, "half-close the stream to end it") {}

  // The session, once the call is admitted.
  virtual std::shared_ptr<Session> MakeSession() = 0;
  // One message from the client: parse it and hand it to `session`.
  virtual void Receive(Session& session, grpc::ByteBuffer& message) = 0;

 private:
  void Start() override {
    Lock lock(this);
    admitting_ = false;
    if (end_status_.has_value()) return MaybeFinishLocked();  // cancelled
    session_ = MakeSession();
    ReadLocked();  // the config
  }

  void Refused(absl::Status status) override {
    Lock lock(this);
    admitting_ = false;
    if (!end_status_.has_value()) end_status_ = std::move(status);
    MaybeFinishLocked();
  }

  void OnCallerCancelled() override {
    Lock lock(this);
    FailLocked(absl::CancelledError("the caller cancelled the stream"));
  }

  // Session::Output.
  void OnResponse(Response response) override {
    Lock lock(this);
    if (finished_) return;
    queue_.push_back(std::move(response));
    PumpLocked();
  }
  void OnReadyForInput() override {
    Lock lock(this);
    ReadLocked();
  }
  void OnEnd(absl::Status status) override {
    Lock lock(this);
    session_ended_ = true;
    if (!end_status_.has_value()) end_status_ = std::move(status);
    if (!end_status_->ok()) queue_.clear();  // an error ends the stream now
    MaybeFinishLocked();
  }

  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || input_closed_ || finished_ || end_status_.has_value())
      return;
    reading_ = true;
    read_started_ = timers_.clock().Now();
    if (timer_ == 0) ArmTimerLocked(read_started_);
    AfterUnlock([this] { StartRead(&reading_bytes_); });
  }

  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (write_in_flight_ || finished_ || queue_.empty()) return;
    writing_ = SerializeMessage(queue_.front());
    queue_.pop_front();
    write_in_flight_ = true;
    AfterUnlock([this] { StartWrite(&writing_); });
  }

  // Fails the session (outside mu_), or the call when there is none yet.
  void FailLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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

  // Arms the timer for the watchdog's next look, counting idleness from
  // `idle_since`.
  void ArmTimerLocked(absl::Time idle_since)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time now = timers_.clock().Now();
    timer_ = timers_.Schedule(watchdog_.NextCheck(call_, idle_since, now),
                              [this] { OnTimer(); });
  }

  void OnTimer() {
    Lock lock(this);
    timer_ = 0;
    if (finished_ || end_status_.has_value() || session_ended_)
      return MaybeFinishLocked();
    const absl::Time now = timers_.clock().Now();
    if (absl::Status expired =
            watchdog_.Check(call_, now, reading_, read_started_);
        !expired.ok()) {
      return FailLocked(std::move(expired));
    }
    ArmTimerLocked(reading_ ? read_started_ : now);
  }

  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // A pending read may stay open (Finish completes it). Admission and the
    // session call back into this call, so they must be over first.
    if (finished_ || write_in_flight_ || admitting_) return;
    if (session_ != nullptr && !session_ended_) return;
    if (!end_status_.has_value()) return;
    if (end_status_->ok() && !queue_.empty()) return;
    if (timer_ != 0) {
      // A timer that already fired is about to call back into this call;
      // wait for it (it comes back here).
      if (!timers_.Cancel(timer_)) return;
      timer_ = 0;
    }
    finished_ = true;
    const grpc::Status grpc_status = Conclude(*end_status_);
    AfterUnlock([this, grpc_status] { Finish(grpc_status); });
  }

  TimerQueue& timers_;
  const call::StreamWatchdog watchdog_;

  std::shared_ptr<Session> session_;  // set once admitted
  grpc::ByteBuffer reading_bytes_;    // the read in flight
  grpc::ByteBuffer writing_ ABSL_GUARDED_BY(mu_);
  std::deque<Response> queue_ ABSL_GUARDED_BY(mu_);
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

#endif  // VOXGATE_SERVER_SESSION_CALL_H_
