#ifndef VOXGATE_SERVER_CALL_REACTOR_H_
#define VOXGATE_SERVER_CALL_REACTOR_H_

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/cancel_scope.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "server/call_context.h"
#include "server/call_end.h"
#include "server/call_metrics.h"
#include "server/call_scope.h"
#include "server/tls_credentials.h"

namespace voxgate::server {

// What admission and the log know of an RPC.
struct MethodInfo {
  const char* name;  // "Chat"
  MethodClass method_class;
  // Holds a limits.max_streams slot (StreamTranscribe).
  bool long_lived_stream = false;
  // Holds a limits.max_long_polls slot instead of a call slot
  // (WaitOperation).
  bool long_poll = false;
};

// What a call needs to start and end: admission, the log and the metrics, and
// the deadline given to calls that arrive without one.
struct CallServices {
  Admission& admission;
  const Logger& logger;
  CallMetrics& metrics;
  absl::Duration default_deadline;
};

// The one base of every Voxgate reactor, unary, server-streaming and bidi.
// It owns what every call has: its context (request id, deadline, timings),
// admission, the work it started, and the one way it ends. The rules it
// builds in:
//
//  - Lifetime: the reactor is deleted when gRPC's OnDone has come and no
//    thread is inside it (holding a Pin or a Lock). gRPC may run OnDone on
//    its own thread right after Finish while the thread that finished is
//    still unwinding, and an upstream may answer (and the call end) before
//    the starting thread has stored its handle to the work.
//  - Cancellation: all work the call starts (admission wait, transfers,
//    jobs, timers) goes through `work_` (a CancelScope), so a cancel reaches
//    it whether it comes before or after the work is stored, and it is always
//    applied outside the call's locks. OnCancel is final: subclasses react in
//    OnCallerCancelled.
//  - Streams: StartRead/StartWrite/Finish never run under mu_ (gRPC may run
//    the reaction inline and reactions take mu_): code under mu_ queues them
//    with AfterUnlock.
template <typename GrpcReactor>
class CallReactor : public GrpcReactor {
 public:
  void OnDone() final { Unref(); }
  void OnCancel() final {
    // gRPC reports a passed deadline as a cancel; the log and metrics should
    // say which it was (the client sees DEADLINE_EXCEEDED either way). The
    // client's own deadline timer usually cancels first, a little before the
    // server's copy of the deadline (taken from grpc-timeout on arrival)
    // expires: a cancel that close to it is the deadline.
    deadline_passed_.store(absl::Now() + kDeadlineSlack >= call_.deadline,
                           std::memory_order_relaxed);
    work_.Cancel();
    OnCallerCancelled();
  }

 protected:
  static constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(50);

  CallReactor(grpc::CallbackServerContext* context, const MethodInfo& method,
              const CallServices& services)
      : context_(context),
        call_(StartCall(*context, services.default_deadline)),
        metrics_(services.metrics),
        method_(method),
        admission_(services.admission),
        logger_(services.logger) {
    metrics_.Started(method_.name);
  }
  virtual ~CallReactor() = default;

  // Keeps the reactor alive to the end of a scope without holding mu_: take
  // it before starting work that may end the call on another thread.
  class Pin {
   public:
    explicit Pin(CallReactor* reactor) : reactor_(reactor) { reactor_->Ref(); }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() { reactor_->Unref(); }

   private:
    CallReactor* const reactor_;
  };

  // Holds mu_ (and a pin); on release runs the operations queued under it.
  class Lock {
   public:
    explicit Lock(CallReactor* reactor)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(reactor->mu_)
        : reactor_(reactor) {
      reactor_->Ref();
      reactor_->mu_.Lock();
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() ABSL_UNLOCK_FUNCTION() {
      reactor_->mu_.Unlock();
      reactor_->RunQueuedOps();
      reactor_->Unref();
    }

   private:
    CallReactor* const reactor_;
  };

  // Who the caller is, from the metadata alone: UNAUTHENTICATED when no
  // tenant is found. Runs before the request message is parsed, so an
  // unknown caller's bytes are never built into a message.
  absl::Status Authenticate() {
    if (!admission_.has_checks()) return absl::OkStatus();
    GrpcCallerMetadata metadata(*context_);
    return admission_.Authenticate(metadata, PeerIdentity(*context_));
  }

  // Asks for admission with what the call is. Then exactly one of Start()
  // (admitted, on this thread or the one that freed a slot) and Refused()
  // (draining, limits, checks, or a cancel while waiting) runs.
  // `model` is the one the request names, when it is known now.
  void Admit(int64_t request_bytes,
             std::optional<absl::string_view> model = std::nullopt) {
    Pin pin(this);
    GrpcCallerMetadata metadata(*context_);
    // The peer's address and identity cost allocations; only checks read
    // them.
    const bool checked = admission_.has_checks();
    const std::string peer = checked ? context_->peer() : "";
    const std::string identity = checked ? PeerIdentity(*context_) : "";
    AdmissionRequest request;
    request.method = method_.name;
    request.method_class = method_.method_class;
    request.long_lived_stream = method_.long_lived_stream;
    request.long_poll = method_.long_poll;
    request.peer = peer;
    request.identity = identity;
    request.model = model.value_or("");
    request.model_known = model.has_value();
    request.metadata = &metadata;
    request.request_bytes = request_bytes;
    const CancelScope::Key key = work_.Reserve();
    Admission::Decision decision = admission_.Admit(
        request, [this, key](absl::StatusOr<Admission::Ticket> ticket) {
          // The call cannot end while it waits: this is its only way on.
          work_.Done(key);
          Admitted(std::move(ticket));
        });
    if (decision.waiting()) {
      work_.Attach(key, [&admission = admission_, id = decision.wait_id] {
        admission.CancelWait(id);
      });
      return;
    }
    work_.Done(key);
    if (decision.ticket.has_value()) {
      Admitted(*std::move(decision.ticket));
    } else {
      Admitted(decision.refused);
    }
  }

  // The call is admitted; start its work (nothing blocking).
  virtual void Start() = 0;
  // The call was refused before it started; end it with `status`.
  virtual void Refused(absl::Status status) = 0;
  // The caller cancelled (or its deadline passed); `work_` is cancelled
  // already. Streams end themselves here when nothing they wait on will.
  virtual void OnCallerCancelled() {}

  // Records the call's end once: timing trailers, its log line, its metrics,
  // and frees its admission slot before the client can see the status (a
  // client that retries at once is not refused). Returns the status to
  // Finish with.
  grpc::Status Conclude(const absl::Status& status) {
    const bool by_deadline = status.code() == absl::StatusCode::kCancelled &&
                             deadline_passed_.load(std::memory_order_relaxed);
    const absl::Status ended =
        by_deadline ? absl::DeadlineExceededError("the call's deadline passed")
                    : status;
    const grpc::Status grpc_status = EndCall(*context_, call_, method_.name,
                                             pool_, ended, logger_, metrics_);
    ChargeUsage(ticket_, call_, method_.name, ended.code());
    ticket_.reset();
    return grpc_status;
  }

  // Runs `op` (a StartRead, StartWrite or Finish) after mu_ is released, in
  // the order queued.
  void AfterUnlock(std::function<void()> op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ops_.push_back(std::move(op));
  }

  const char* method_name() const { return method_.name; }

  // Keeps the reactor alive while the returned pointer lives (a Pin that can
  // be handed on).
  std::shared_ptr<void> Hold() {
    Ref();
    return std::shared_ptr<void>(this, [](void* reactor) {
      static_cast<CallReactor*>(reactor)->Unref();
    });
  }
  // What operations borrow from this call.
  CallScope scope() {
    return {call_, work_, pool_, [this] { return Hold(); }};
  }

  grpc::CallbackServerContext* const context_;
  CallContext call_;
  std::string pool_;  // for the log line
  CancelScope work_;
  absl::Mutex mu_;
  CallMetrics& metrics_;

 private:
  void Admitted(absl::StatusOr<Admission::Ticket> ticket) {
    if (!ticket.ok()) {
      Refused(ticket.status());
      return;
    }
    ticket_.emplace(*std::move(ticket));
    AttachGrant(*ticket_, call_);
    call_.queue_time = absl::Now() - call_.started;
    Start();
  }

  void Ref() { references_.fetch_add(1, std::memory_order_relaxed); }
  // Deletes the reactor with the last reference.
  void Unref() {
    if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void RunQueuedOps() {
    {
      absl::MutexLock lock(&mu_);
      if (ops_.empty() || running_ops_) return;  // that thread takes these too
      running_ops_ = true;
    }
    while (true) {
      std::function<void()> op;
      {
        absl::MutexLock lock(&mu_);
        if (ops_.empty()) {
          running_ops_ = false;
          return;
        }
        op = std::move(ops_.front());
        ops_.pop_front();
      }
      op();
    }
  }

  const MethodInfo method_;
  Admission& admission_;
  const Logger& logger_;
  std::optional<Admission::Ticket> ticket_;
  // gRPC's, until OnDone, and one per live Pin or Lock.
  std::atomic<int> references_{1};
  // A cancel came when the call's deadline had passed.
  std::atomic<bool> deadline_passed_{false};
  std::deque<std::function<void()>> ops_ ABSL_GUARDED_BY(mu_);
  bool running_ops_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_REACTOR_H_
