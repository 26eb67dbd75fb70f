#ifndef VOXGATE_TENANCY_LIMITER_H_
#define VOXGATE_TENANCY_LIMITER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "call/admission.h"

namespace voxgate::tenancy {

// One call's claim on its tenant's limits; a zero limit is no limit.
struct LimitClaim {
  std::string tenant;
  call::MethodClass method_class = call::MethodClass::kGeneral;
  uint32_t requests_per_minute = 0;  // for this method class
  uint64_t tokens_per_day = 0;
  uint64_t audio_seconds_per_hour = 0;
  bool limited() const {
    return requests_per_minute > 0 || tokens_per_day > 0 ||
           audio_seconds_per_hour > 0;
  }
};

// Counts requests in sliding 60-second windows (at most N in any minute), and
// tokens and audio seconds in UTC day and hour windows. Usage is charged as
// calls end, so a call that starts under a quota may take it past; the next
// one is refused. Thread-safe.
class Limiter {
 public:
  using Done = std::function<void(absl::Status)>;
  virtual ~Limiter() = default;
  // Counts the request if it is within every limit. `done` runs exactly
  // once, inline or later on another thread, with OK, RESOURCE_EXHAUSTED
  // naming the limit (with a retry delay, see common/retry_info.h), or
  // UNAVAILABLE when the limits store is down and the policy refuses.
  virtual void Check(const LimitClaim& claim, Done done) = 0;
  // Adds a finished call's usage to the tenant's windows. Does not block.
  virtual void Charge(const std::string& tenant, int64_t tokens,
                      double audio_seconds) = 0;
};

// What every limiter says, so that local and shared limits read alike.
namespace limit_text {
absl::string_view ClassName(call::MethodClass method_class);
absl::Status RequestsExceeded(const LimitClaim& claim, absl::Duration retry);
absl::Status TokensExceeded(const LimitClaim& claim, absl::Duration retry);
absl::Status AudioExceeded(const LimitClaim& claim, absl::Duration retry);
}  // namespace limit_text

// The windows of quotas: index of the UTC day or hour `now` falls in, and
// the time left until it ends.
int64_t DayIndex(absl::Time now);
int64_t HourIndex(absl::Time now);
absl::Duration UntilNextDay(absl::Time now);
absl::Duration UntilNextHour(absl::Time now);

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_LIMITER_H_
