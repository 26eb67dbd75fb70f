#ifndef VOXGATE_CALL_CALL_H_
#define VOXGATE_CALL_CALL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "call/admission.h"
#include "call/call_context.h"
#include "call/call_metrics.h"
#include "call/call_scope.h"
#include "call/methods.h"
#include "common/cancel_scope.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/timer_queue.h"

namespace voxgate::call {

// What a call needs to start and end: admission, the log and the metrics, the
// deadline given to calls that arrive without one, and the clock every
// timeout of the call is read from.
struct CallServices {
  Admission& admission;
  const Logger& logger;
  CallMetrics& metrics;
  absl::Duration default_deadline;
  Clock& clock = RealClock();
  // Where an admitted call's deadline is kept, on `clock` (it runs on the
  // same clock): at the deadline the call's work is cancelled and the call
  // ends DEADLINE_EXCEEDED, whatever the door and the upstream do. Streams
  // keep theirs in their watchdog instead. Null: none is kept here.
  TimerQueue* deadline_timers = nullptr;
};

// Who is calling, as the door saw it. Borrowed for the duration of Admit.
struct Caller {
  const CallerMetadata* metadata = nullptr;
  absl::string_view peer;      // "ipv4:127.0.0.1:5555"
  absl::string_view identity;  // verified client-certificate identity, or ""
};

// One request, whichever door it came through: its context (request id,
// deadline, timings), admission, the work it started and the one way it
// ends. The gRPC reactors and the HTTP and WebSocket handlers each hold one;
// none of them writes admission, the end or the start-work protocol again.
//
// Lifetime: `hold` (given by the owner) keeps the owner, and so this call,
// alive; Call takes it wherever work may end the call on another thread
// before the starting thread is done with it. Thread-safe.
class Call {
 public:
  // `request_id` is the caller's x-request-id ("" for none); `deadline` the
  // caller's (the far future when it set none: `default_deadline` applies).
  Call(const Method& method, const CallServices& services,
       absl::string_view request_id, absl::Time deadline,
       std::function<std::shared_ptr<void>()> hold);
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Who the caller is, from its metadata alone: UNAUTHENTICATED when no
  // tenant is found; OK without checks. For doors that authenticate before
  // they read the request.
  absl::Status Authenticate(const Caller& caller) const;
  // Whether admission checks callers (tenants): doors skip gathering the
  // peer's address and identity when it does not.
  bool checks_callers() const { return services_.admission.has_checks(); }

  // Asks for admission. `admitted` runs exactly once, on this thread or the
  // one that freed a slot: OK (start the work) or the refusal (draining,
  // limits, checks, a cancel while waiting). `model` is the one the request
  // names, when known now.
  void Admit(const Caller& caller, int64_t request_bytes,
             std::optional<absl::string_view> model,
             std::function<void(absl::Status)> admitted);

  // Starts work under the call's CancelScope, the one way every step is
  // started: `start` receives `done` (call it when the work ends, on any
  // thread) and returns how to cancel the work (or null). A cancel that
  // comes before `start` returns is applied as it does; the call is held
  // until then.
  void RunStarted(
      const std::function<std::function<void()>(std::function<void()> done)>&
          start);

  // The caller cancelled or went away (or the server is stopping): cancels
  // all started work. A cancel once the deadline has passed is the deadline.
  void Cancel();
  bool cancelled() const { return work_.cancelled(); }

  // Ends the call once: the deadline classification (a cancel at the
  // deadline is DEADLINE_EXCEEDED), the log line, metrics, the usage charge
  // and the admission slot freed before the client can see the status.
  // Returns the status as the caller may see it (scrubbed); later calls
  // return the first end's.
  absl::Status End(const absl::Status& status);
  bool ended() const;

  // The timings as key/value pairs (voxgate-*-ms): the ones known at the
  // end, or none before it.
  std::vector<std::pair<std::string, std::string>> Timing() const;

  const Method& method() const { return method_; }
  CallContext& context() { return context_; }
  const CallContext& context() const { return context_; }
  CancelScope& work() { return work_; }
  CallMetrics& metrics() { return services_.metrics; }
  Clock& clock() const { return services_.clock; }
  // What operations borrow from this call.
  CallScope scope();
  std::shared_ptr<void> Hold() const { return hold_(); }

 private:
  static constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(50);

  void Admitted(absl::StatusOr<Admission::Ticket> ticket,
                const std::function<void(absl::Status)>& admitted);
  // End once, under mu_; hands back the deadline timer to cancel.
  absl::Status EndOnce(const absl::Status& status,
                       TimerQueue::TimerId& deadline_timer);
  // Cancels the call at its deadline (see CallServices::deadline_timers).
  void KeepDeadlineLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Method& method_;
  const CallServices services_;
  const std::function<std::shared_ptr<void>()> hold_;
  CallContext context_;
  CancelScope work_;
  std::string pool_;  // for the log line
  mutable absl::Mutex mu_;
  std::optional<Admission::Ticket> ticket_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> ended_ ABSL_GUARDED_BY(mu_);
  absl::Duration total_ ABSL_GUARDED_BY(mu_);
  bool cancelled_at_deadline_ ABSL_GUARDED_BY(mu_) = false;
  TimerQueue::TimerId deadline_timer_ ABSL_GUARDED_BY(mu_) = 0;
};

// How a stream's watchdog decides, for every door: the call's deadline, the
// client's idle time (only a read waiting on the client counts; while the
// gateway holds back the client is not idle) and a revoked key.
class StreamWatchdog {
 public:
  // `how_to_end` tells the client how to end a stream properly ("half-close
  // the stream"), for the idle error.
  StreamWatchdog(absl::Duration idle_timeout, std::string how_to_end)
      : idle_timeout_(idle_timeout), how_to_end_(std::move(how_to_end)) {}

  // When to look next, counting idleness from `idle_since`.
  absl::Time NextCheck(const CallContext& call, absl::Time idle_since,
                       absl::Time now) const;
  // OK while the stream may go on; else why it must end.
  absl::Status Check(const CallContext& call, absl::Time now, bool reading,
                     absl::Time read_started) const;

 private:
  const absl::Duration idle_timeout_;
  const std::string how_to_end_;
};

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CALL_H_
