#include "server/unary_call.h"

#include "absl/time/clock.h"
#include "server/grpc_status.h"

namespace voxgate::server {

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, const char* method,
                     const Logger& logger, Admission& admission)
    : context_(context),
      call_(StartCall(*context)),
      method_(method),
      logger_(logger) {
  absl::StatusOr<Admission::Ticket> ticket = admission.Admit();
  if (!ticket.ok()) {
    Complete(ticket.status());
    return;
  }
  ticket_.emplace(*std::move(ticket));
  admitted_ = true;
}

void UnaryCall::OnCancel() {
  if (!completed_.load()) CancelWork();
}

void UnaryCall::Complete(absl::Status status) {
  if (completed_.exchange(true)) return;
  AddTimingTrailers(*context_, call_);
  const absl::Duration total = absl::Now() - call_.started;
  const grpc::Status grpc_status = ToGrpcStatus(status);
  logger_.Log(
      status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "call",
      {{"method", method_},
       {"request_id", call_.request_id},
       {"code", absl::StatusCodeToString(status.code())},
       {"total_ms", absl::ToDoubleMilliseconds(total)},
       {"upstream_ms", absl::ToDoubleMilliseconds(call_.upstream_time)},
       {"preprocess_ms", absl::ToDoubleMilliseconds(call_.preprocess_time)},
       {"pool", pool_},
       {"error", status.ok() ? "" : grpc_status.error_message()}});
  ticket_.reset();
  Finish(grpc_status);
}

}  // namespace voxgate::server
