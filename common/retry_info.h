#ifndef VOXGATE_COMMON_RETRY_INFO_H_
#define VOXGATE_COMMON_RETRY_INFO_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace voxgate {

// A refusal that knows when the caller may try again (a rate limit's window,
// a quota's reset) carries the delay as a google.rpc.RetryInfo payload under
// its type URL, so every front door can say it its own way: gRPC status
// details plus a `retry-after` trailer, HTTP's Retry-After header.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// The payload's type URL, which is also its google.protobuf.Any type URL.
inline constexpr char kRetryInfoTypeUrl[] =
    "type.googleapis.com/google.rpc.RetryInfo";

// The delay WithRetryDelay attached, or nullopt.
std::optional<absl::Duration> RetryDelay(const absl::Status& status);

// Whole seconds to wait, rounded up and at least 1: Retry-After's unit.
int64_t RetryAfterSeconds(absl::Duration delay);

// A refusal made after the caller was identified names its tenant, for the
// call's log line (never shown to the caller).
absl::Status WithTenant(absl::Status status, absl::string_view tenant);
std::string TenantOf(const absl::Status& status);

// A copy of `status` with another message and the same payloads.
absl::Status WithMessage(const absl::Status& status, absl::string_view message);

}  // namespace voxgate

#endif  // VOXGATE_COMMON_RETRY_INFO_H_
