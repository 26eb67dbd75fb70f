#ifndef VOXGATE_OPERATIONS_SESSION_OUTBOX_H_
#define VOXGATE_OPERATIONS_SESSION_OUTBOX_H_

#include <deque>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/cancel_scope.h"

namespace voxgate::operations {

// What a session (StreamSession, UploadSession) hands its front door:
// responses, "ready for input", its end, and the order to cancel its backend
// requests. Delivered in the order the session queued them, outside the
// session's lock, by one thread at a time: the front door calls back into the
// session, and two threads delivering at once could reorder. Thread-safe.
template <typename Response>
class SessionOutbox {
 public:
  // Each queues its event; call under the session's lock, so that the order
  // is the session's.
  void Respond(Response response) {
    Push({Kind::kResponse, std::move(response), {}});
  }
  void Ready() { Push({Kind::kReady, {}, {}}); }
  void CancelRequests() { Push({Kind::kCancelRequests, {}, {}}); }
  void End(absl::Status status) { Push({Kind::kEnd, {}, std::move(status)}); }

  // Drops the responses not yet out (a failure ends the stream now).
  void DropResponses() {
    absl::MutexLock lock(&mu_);
    std::deque<Event> kept;
    for (Event& event : events_) {
      if (event.kind != Kind::kResponse) kept.push_back(std::move(event));
    }
    events_.swap(kept);
  }

  // Hands every queued event to `output` (OnResponse, OnReadyForInput,
  // OnEnd) or cancels `requests`, in order, unless another thread is
  // delivering (it takes these too). Call with the session's lock released.
  template <typename Output>
  void Deliver(Output& output, CancelScope& requests) {
    {
      absl::MutexLock lock(&mu_);
      if (delivering_ || events_.empty()) return;
      delivering_ = true;
    }
    while (true) {
      Event event;
      {
        absl::MutexLock lock(&mu_);
        if (events_.empty()) {
          delivering_ = false;
          return;
        }
        event = std::move(events_.front());
        events_.pop_front();
      }
      switch (event.kind) {
        case Kind::kResponse:
          output.OnResponse(std::move(event.response));
          break;
        case Kind::kReady:
          output.OnReadyForInput();
          break;
        case Kind::kCancelRequests:
          requests.Cancel();
          break;
        case Kind::kEnd:
          output.OnEnd(event.status);
          break;
      }
    }
  }

 private:
  enum class Kind { kResponse, kReady, kCancelRequests, kEnd };
  struct Event {
    Kind kind = Kind::kReady;
    Response response;
    absl::Status status;
  };

  // Nothing follows the end: the front door may be gone once it has it (a
  // session thread that let go of the session's lock mid-step, such as
  // UploadSession dispatching a chunk, may come back after another thread
  // ended the session).
  void Push(Event event) {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = event.kind == Kind::kEnd;
    events_.push_back(std::move(event));
  }

  absl::Mutex mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // End() was queued
};

// Holds a session's mutex `mu_`; on release delivers what was queued under
// it (the session's Deliver()), so the front door is called without the lock.
template <typename Session>
class SessionLock {
 public:
  explicit SessionLock(Session* session)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(session->mu_)
      : session_(session) {
    session_->mu_.Lock();
  }
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;
  ~SessionLock() ABSL_UNLOCK_FUNCTION() {
    session_->mu_.Unlock();
    session_->Deliver();
  }

 private:
  Session* const session_;
};

}  // namespace voxgate::operations

#endif  // VOXGATE_OPERATIONS_SESSION_OUTBOX_H_
