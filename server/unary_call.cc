#include "server/unary_call.h"

#include "absl/time/clock.h"
#include "server/call_end.h"

namespace voxgate::server {

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, const char* method,
                     const Logger& logger, Admission& admission,
                     CallMetrics& metrics)
    : context_(context),
      call_(StartCall(*context)),
      method_(method),
      logger_(logger),
      admission_(admission),
      metrics_(metrics) {
  metrics_.Started(method_);
}

void UnaryCall::Begin() {
  Pin pin(this);  // admission may answer, and the call end, on another thread
  const uint64_t wait =
      admission_.Admit([this](absl::StatusOr<Admission::Ticket> ticket) {
        admission_wait_.store(0);
        if (!ticket.ok()) {
          Complete(ticket.status());
          return;
        }
        ticket_.emplace(*std::move(ticket));
        call_.queue_time = absl::Now() - call_.started;
        started_.store(true);
        Start();
      });
  if (wait != 0 && !started_.load() && !completed_.load())
    admission_wait_.store(wait);
}

void UnaryCall::OnCancel() {
  if (completed_.load()) return;
  if (const uint64_t wait = admission_wait_.exchange(0); wait != 0) {
    admission_.CancelWait(wait);  // its callback completes the call
    return;
  }
  if (started_.load()) CancelWork();
}

void UnaryCall::Complete(absl::Status status) {
  if (completed_.exchange(true)) return;
  const grpc::Status grpc_status =
      EndCall(*context_, call_, method_, pool_, status, logger_, metrics_);
  ticket_.reset();
  Finish(grpc_status);
}

}  // namespace voxgate::server
