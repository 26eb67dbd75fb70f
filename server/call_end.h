#ifndef VOXGATE_SERVER_CALL_END_H_
#define VOXGATE_SERVER_CALL_END_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/logging.h"
#include "grpcpp/grpcpp.h"
#include "server/call_context.h"
#include "server/call_metrics.h"

namespace voxgate::server {

// What every call does once as it ends, whichever front door it came
// through: its one log line (method, request id, code, durations, pool; the
// error message when it failed) and its metrics. Returns the status as the
// caller may see it (the message scrubbed of credentials).
absl::Status RecordCallEnd(const CallContext& call, const char* method,
                           const std::string& pool, const absl::Status& status,
                           const Logger& logger, CallMetrics& metrics);

// RecordCallEnd for a gRPC call, with its timing trailers. Returns the status
// to Finish with. Call exactly once, before Finish.
grpc::Status EndCall(grpc::CallbackServerContext& context,
                     const CallContext& call, const char* method,
                     const std::string& pool, const absl::Status& status,
                     const Logger& logger, CallMetrics& metrics);

// Names the call's tenant and grant from its admission ticket. Call when
// admitted.
void AttachGrant(const Admission::Ticket& ticket, CallContext& call);

// Charges what the call used to its tenant (tokens, audio seconds), once, as
// it ends; nothing without a grant.
void ChargeUsage(const std::optional<Admission::Ticket>& ticket,
                 const CallContext& call, const char* method,
                 absl::StatusCode code);

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_CALL_END_H_
