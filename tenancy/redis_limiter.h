#ifndef VOXGATE_TENANCY_REDIS_LIMITER_H_
#define VOXGATE_TENANCY_REDIS_LIMITER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/redis_connection.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "tenancy/limiter.h"

namespace voxgate::tenancy {

// Limits shared by every replica through one Redis (hiredis, Debian's
// libhiredis-dev): each check is one atomic Lua script, a sliding 60-second
// log per tenant and method class (a sorted set scored by Redis's own clock,
// so replicas' clocks do not matter) plus the day's token and the hour's
// audio counters. Checks are sent from one thread of its own, pipelined in
// batches, so admission never blocks on the network: a check's answer comes
// on that thread.
//
// When Redis cannot be reached (refused, timed out, an error reply), the
// policy decides each check at once (open: admitted; closed: UNAVAILABLE),
// voxgate_limits_store_up is 0, one log line says so, and the thread
// reconnects every `reconnect_interval`; the first success logs again and
// shared limits resume. Thread-safe.
class RedisLimiter final : public Limiter {
 public:
  struct Options : RedisOptions {
    bool fail_open = true;
  };
  // Starts the thread; the first connection is made by it (a Redis that is
  // down at start is handled as any outage).
  RedisLimiter(Options options, Clock& clock, const Logger& logger,
               prometheus::Registry& registry);
  ~RedisLimiter() override;

  void Check(const LimitClaim& claim, Done done) override;
  void Charge(const std::string& tenant, int64_t tokens,
              double audio_seconds) override;

 private:
  struct PendingCheck {
    LimitClaim claim;
    Done done;
    absl::Time now;  // for the quota windows' keys
  };
  struct PendingCharge {
    std::string tenant;
    int64_t tokens;
    double audio_seconds;
    absl::Time now;
  };
  using Work = std::variant<PendingCheck, PendingCharge>;
  class Connection;

  void Run();
  // The policy's answer while the store is down.
  absl::Status PolicyVerdict(const LimitClaim& claim);
  void SetUp(bool up, absl::string_view error) ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  Clock& clock_;
  const Logger& logger_;
  const std::string member_prefix_;  // unique per process: sorted-set members
  prometheus::Gauge& up_metric_;
  prometheus::Counter& errors_metric_;
  prometheus::Counter& policy_metric_;
  prometheus::Counter& dropped_metric_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool up_ ABSL_GUARDED_BY(mu_) = false;
  bool ever_tried_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::deque<Work> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t next_member_ = 0;  // the thread's
  std::thread thread_;
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_REDIS_LIMITER_H_
