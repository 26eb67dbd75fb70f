#ifndef VOXGATE_SERVER_CALL_REACTOR_H_
#define VOXGATE_SERVER_CALL_REACTOR_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "call/call.h"
#include "common/cancel_scope.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc_call.h"
#include "server/grpc_status.h"
#include "server/tls_credentials.h"

namespace voxgate::server {

// The one base of every Voxgate reactor, unary, server-streaming and bidi.
// It owns what every call has: its context (request id, deadline, timings),
// admission, the work it started, and the one way it ends. The rules it
// builds in:
//
//  - Lifetime: as every call on every door (call::Call), the reactor is
//    owned by shared pointers: the transport's share (gRPC's, dropped at
//    OnDone; the HTTP exchange's; the WebSocket's until it closes) and one
//    per piece of work, Pin or Lock that is using it. gRPC may run OnDone on
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
class CallReactor
    : public GrpcReactor,
      public std::enable_shared_from_this<CallReactor<GrpcReactor>> {
 public:
  // gRPC is done with the reactor: its share goes.
  void OnDone() final { grpc_share_.reset(); }
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
    // The reactor is made with new (gRPC takes a raw pointer); this share is
    // the one that deletes it, and the one gRPC's OnDone drops.
    grpc_share_.reset(this, [](CallReactor* reactor) { delete reactor; });
    context->AddInitialMetadata("x-request-id", call_.request_id);
  }
  virtual ~CallReactor() = default;

  // Keeps the reactor alive to the end of a scope without holding mu_: take
  // it before starting work that may end the call on another thread.
  class Pin {
   public:
    explicit Pin(CallReactor* reactor) : share_(reactor->Share()) {}
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;

   private:
    const std::shared_ptr<CallReactor> share_;
  };

  // Holds mu_ (and a pin); on release runs the operations queued under it.
  class Lock {
   public:
    explicit Lock(CallReactor* reactor)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(reactor->mu_)
        : share_(reactor->Share()) {
      share_->mu_.Lock();
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock() ABSL_UNLOCK_FUNCTION() {
      share_->mu_.Unlock();
      share_->RunQueuedOps();
    }

   private:
    const std::shared_ptr<CallReactor> share_;
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
  std::shared_ptr<void> Hold() { return Share(); }
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
  // A share of the reactor. Whoever asks holds one already (gRPC's, during a
  // reaction, or a piece of work's), so there is always one to add to.
  std::shared_ptr<CallReactor> Share() { return this->shared_from_this(); }

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

  // gRPC's share, until OnDone. Touched only by the constructor and OnDone.
  std::shared_ptr<CallReactor> grpc_share_;
  std::deque<std::function<void()>> ops_ ABSL_GUARDED_BY(mu_);
  bool running_ops_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_REACTOR_H_
