#ifndef VOXGATE_CALL_CALL_END_H_
#define VOXGATE_CALL_CALL_END_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/logging.h"
#include "call/call_context.h"
#include "call/call_metrics.h"

namespace voxgate::call {

// What every call does once as it ends, whichever front door it came
// through (`total` long): its one log line (method, request id, code, durations, pool; the
// error message when it failed) and its metrics. Returns the status as the
// caller may see it (the message scrubbed of credentials).
absl::Status RecordCallEnd(const CallContext& call, const char* method,
                           const std::string& pool, const absl::Status& status,
                           absl::Duration total, const Logger& logger,
                           CallMetrics& metrics);

// Names the call's tenant and grant from its admission ticket. Call when
// admitted.
void AttachGrant(const Admission::Ticket& ticket, CallContext& call);

// Charges what the call used to its tenant (tokens, audio seconds), once, as
// it ends; nothing without a grant.
void ChargeUsage(const std::optional<Admission::Ticket>& ticket,
                 const CallContext& call, const char* method,
                 absl::StatusCode code);

}  // namespace voxgate::call

#endif  // VOXGATE_CALL_CALL_END_H_
