#ifndef VOXGATE_SERVER_CALL_REACTOR_H_
#define VOXGATE_SERVER_CALL_REACTOR_H_

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "common/cancel_scope.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "call/call.h"
#include "server/grpc_call.h"
#include "server/grpc_status.h"
#include "server/tls_credentials.h"

namespace voxgate::server {

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
    // gRPC reports a passed deadline as a cancel: Call tells which it was
    // (the client sees DEADLINE_EXCEEDED either way).
    gateway_call_.Cancel();
    OnCallerCancelled();
  }

 protected:
  CallReactor(grpc::CallbackServerContext* context, const call::Method& method,
              const call::CallServices& services)
      : context_(context),
        gateway_call_(method, services, RequestIdOf(*context),
                      absl::FromChrono(context->deadline()),
                      [this] { return Hold(); }),
        call_(gateway_call_.context()),
        work_(gateway_call_.work()),
        pool_(gateway_call_.scope().pool),
        metrics_(gateway_call_.metrics()) {
    context->AddInitialMetadata("x-request-id", call_.request_id);
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
    GrpcCallerMetadata metadata(*context_);
    const std::string identity = PeerIdentity(*context_);
    return gateway_call_.Authenticate({&metadata, "", identity});
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
    const bool checked = gateway_call_.checks_callers();
    const std::string peer = checked ? context_->peer() : "";
    const std::string identity = checked ? PeerIdentity(*context_) : "";
    gateway_call_.Admit({&metadata, peer, identity}, request_bytes, model,
                        [this](absl::Status admitted) {
                          if (admitted.ok()) return Start();
                          Refused(std::move(admitted));
                        });
  }

  // The call is admitted; start its work (nothing blocking).
  virtual void Start() = 0;
  // The call was refused before it started; end it with `status`.
  virtual void Refused(absl::Status status) = 0;
  // The caller cancelled (or its deadline passed); `work_` is cancelled
  // already. Streams end themselves here when nothing they wait on will.
  virtual void OnCallerCancelled() {}

  // Records the call's end once (Call::End), with the timing trailers, and
  // returns the status to Finish with.
  grpc::Status Conclude(const absl::Status& status) {
    const absl::Status shown = gateway_call_.End(status);
    AddEndTrailers(*context_, gateway_call_.Timing(), shown);
    return ToGrpcStatus(shown);
  }

  // Runs `op` (a StartRead, StartWrite or Finish) after mu_ is released, in
  // the order queued.
  void AfterUnlock(std::function<void()> op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ops_.push_back(std::move(op));
  }

  const char* method_name() const { return gateway_call_.method().name; }

  // Keeps the reactor alive while the returned pointer lives (a Pin that can
  // be handed on).
  std::shared_ptr<void> Hold() {
    Ref();
    return std::shared_ptr<void>(this, [](void* reactor) {
      static_cast<CallReactor*>(reactor)->Unref();
    });
  }
  // What operations borrow from this call.
  call::CallScope scope() { return gateway_call_.scope(); }

  grpc::CallbackServerContext* const context_;
  call::Call gateway_call_;
  // Short names for what subclasses use of gateway_call_.
  call::CallContext& call_;
  CancelScope& work_;
  std::string& pool_;
  call::CallMetrics& metrics_;
  absl::Mutex mu_;

 private:
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

  // gRPC's, until OnDone, and one per live Pin or Lock.
  std::atomic<int> references_{1};
  std::deque<std::function<void()>> ops_ ABSL_GUARDED_BY(mu_);
  bool running_ops_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_REACTOR_H_
