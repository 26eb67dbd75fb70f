#include "server/call_end.h"

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"

namespace voxgate::server {

absl::Status RecordCallEnd(const CallContext& call, const char* method,
                           const std::string& pool, const absl::Status& status,
                           const Logger& logger, CallMetrics& metrics) {
  const absl::Duration total = absl::Now() - call.started;
  const absl::Status shown =
      status.ok() ? status
                  : absl::Status(status.code(), ScrubSecrets(status.message()));
  logger.Log(
      status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "call",
      {{"method", method},
       {"request_id", call.request_id},
       {"code", absl::StatusCodeToString(status.code())},
       {"total_ms", absl::ToDoubleMilliseconds(total)},
       {"upstream_ms", absl::ToDoubleMilliseconds(call.upstream_time)},
       {"preprocess_ms", absl::ToDoubleMilliseconds(call.preprocess_time)},
       {"queue_ms", absl::ToDoubleMilliseconds(call.queue_time)},
       {"audio_seconds", call.audio_seconds},
       {"chunks", call.chunks},
       {"pool", pool},
       {"endpoint", absl::StrJoin(call.endpoints->urls(), ",")},
       {"error", shown.message()}});
  metrics.Handled(method, status.code(), total, call.upstream_time);
  if (call.audio_seconds > 0) {
    metrics.AudioProcessed(method, call.preprocess_time, call.audio_seconds,
                           call.chunks);
  }
  return shown;
}

grpc::Status EndCall(grpc::CallbackServerContext& context,
                     const CallContext& call, const char* method,
                     const std::string& pool, const absl::Status& status,
                     const Logger& logger, CallMetrics& metrics) {
  AddTimingTrailers(context, call);
  return ToGrpcStatus(
      RecordCallEnd(call, method, pool, status, logger, metrics));
}

}  // namespace voxgate::server
