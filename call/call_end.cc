#include "call/call_end.h"

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/retry_info.h"
#include "call/status_details.h"

namespace voxgate::call {

absl::Status RecordCallEnd(const CallContext& call, const char* method,
                           const std::string& pool, const absl::Status& status,
                           absl::Duration total, const Logger& logger,
                           CallMetrics& metrics) {
  const absl::Status shown =
      status.ok() ? status
                  : WithMessage(status, ScrubSecrets(status.message()));
  logger.Log(
      status.ok() ? LogLevel::kInfo : LogLevel::kWarning, "call",
      {{"method", method},
       {"request_id", call.request_id},
       {"tenant", call.tenant.empty() ? TenantOf(status) : call.tenant},
       {"code", absl::StatusCodeToString(status.code())},
       {"total_ms", absl::ToDoubleMilliseconds(total)},
       {"upstream_ms", absl::ToDoubleMilliseconds(call.upstream_time)},
       {"preprocess_ms", absl::ToDoubleMilliseconds(call.preprocess_time)},
       {"queue_ms", absl::ToDoubleMilliseconds(call.queue_time)},
       {"audio_seconds", call.audio_seconds},
       {"chunks", call.chunks},
       {"pool", pool},
       {"endpoint", absl::StrJoin(call.endpoints->urls(), ",")},
       {"prompt_tokens", call.prompt_tokens},
       {"completion_tokens", call.completion_tokens},
       {"error", shown.message()}});
  metrics.Handled(method, status.code(), total, call.upstream_time);
  if (call.audio_seconds > 0) {
    metrics.AudioProcessed(method, call.preprocess_time, call.audio_seconds,
                           call.chunks);
  }
  return shown;
}

void AttachGrant(const Admission::Ticket& ticket, CallContext& call) {
  call.grant = ticket.grant();
  if (call.grant != nullptr) {
    call.tenant = call.grant->tenant();
    call.fetch_allowed_hosts = call.grant->fetch_allowed_hosts();
  }
}

void ChargeUsage(const std::optional<Admission::Ticket>& ticket,
                 const CallContext& call, const char* method,
                 absl::StatusCode code) {
  if (!ticket.has_value() || ticket->grant() == nullptr) return;
  ticket->grant()->Charge({method, code, call.audio_seconds, call.prompt_tokens,
                           call.completion_tokens});
}

}  // namespace voxgate::call
