#ifndef VOXGATE_SERVER_UNARY_CALL_H_
#define VOXGATE_SERVER_UNARY_CALL_H_

#include <atomic>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/admission.h"
#include "server/call_context.h"
#include "server/call_metrics.h"

namespace voxgate::server {

// What every unary reactor shares: the call's context, admission, the one place
// it finishes (timing trailers, the status conversion, the call's log line) and
// deletion after OnDone (and after every Pin). The service constructs the call
// and calls Begin(); once admitted, the subclass's Start() runs (nothing
// blocking) and it calls Complete() exactly once from anywhere.
class UnaryCall : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(grpc::CallbackServerContext* context, const char* method,
            const Logger& logger, Admission& admission, CallMetrics& metrics);

  // Asks for admission; Start() runs when a slot is granted.
  void Begin();
  void OnDone() override { Release(); }
  void OnCancel() override;
  // Lets gRPC run OnDone and OnCancel on the thread that completes the call
  // instead of handing each to its executor: one thread wake-up less per call
  // (measured with bench/chat_overhead_bench). gRPC marks this hook internal,
  // for reactors whose reactions are trivial; ours are: OnDone releases, and
  // OnCancel only flags the call and posts cancellations, never blocking.
  bool InternalInlineable() override { return true; }

 protected:
  // Keeps the call alive to the end of a scope that starts work which may
  // complete it and then goes on touching the call: an upstream can answer on
  // its own thread, Complete() call Finish and gRPC run OnDone before the
  // starting thread has stored its handle to the work. Take it while the call
  // is known to be alive (before starting the work).
  class Pin {
   public:
    explicit Pin(UnaryCall* call) : call_(call) {
      call_->references_.fetch_add(1, std::memory_order_relaxed);
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() { call_->Release(); }

   private:
    UnaryCall* const call_;
  };

  // Finishes the call; later calls do nothing. Thread-safe.
  void Complete(absl::Status status);
  // Starts the call's work once admitted.
  virtual void Start() = 0;
  // Aborts whatever the call waits for; Complete(CANCELLED) must follow from
  // it.
  virtual void CancelWork() = 0;

  grpc::CallbackServerContext* const context_;
  CallContext call_;
  std::string pool_;  // for the log line

 private:
  // Deletes the call with the last reference.
  void Release() {
    if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // gRPC's, until OnDone, and one per live Pin.
  std::atomic<int> references_{1};
  const char* const method_;
  const Logger& logger_;
  Admission& admission_;
  CallMetrics& metrics_;
  std::optional<Admission::Ticket> ticket_;
  std::atomic<uint64_t> admission_wait_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> completed_{false};
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_UNARY_CALL_H_
