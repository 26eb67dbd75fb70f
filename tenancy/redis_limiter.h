#ifndef VOXGATE_TENANCY_REDIS_LIMITER_H_
#define VOXGATE_TENANCY_REDIS_LIMITER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

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
// libhiredis-dev): a sliding 60-second log per tenant and method class (a
// sorted set scored by Redis's own clock, so replicas' clocks do not matter)
// plus the day's token and the hour's audio counters, each changed only by
// atomic Lua scripts. Scripts are sent from one thread of its own, pipelined
// in batches, so admission never blocks on the network.
//
// Permits are leased: one script checks the quotas and, within the minute's
// limit, adds up to `lease_size` requests to the log at once, and this
// replica then admits that many calls without a round trip, asking for the
// next lease while half the last one is left. The log counts a leased permit
// from the moment it is granted, so replicas together never admit more than
// the limit. A lease is at most 1/16 of what is left of the minute (at least
// one permit), so near the limit every call asks Redis and the count stays
// exact; permits not spent within `lease_ttl` are given back (removed from
// the log). With lease_size 1 every call waits for its own round trip. The
// token and audio quotas are read once per lease: a tenant that crosses one
// may start up to a lease's calls more (usage is charged as calls end in any
// case).
//
// When Redis cannot be reached (refused, timed out, an error reply), the
// policy decides each check at once (open: admitted; closed: UNAVAILABLE),
// leases are dropped, voxgate_limits_store_up is 0, one log line says so,
// and the thread reconnects every `reconnect_interval`; the first success
// logs again and shared limits resume. Thread-safe.
class RedisLimiter final : public Limiter {
 public:
  struct Options : RedisOptions {
    bool fail_open = true;
    int lease_size = 32;
    absl::Duration lease_ttl = absl::Seconds(1);
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
  struct Waiting {
    LimitClaim claim;
    Done done;
  };
  // The permits this replica holds for one tenant and method class.
  struct Lease {
    LimitClaim claim;  // the latest caller's limits, for the next request
    std::vector<std::string> members;  // unspent permits' log entries
    absl::Time expires;
    int last_grant = 0;
    bool requested = false;       // a lease request is on its way
    std::deque<Waiting> waiting;  // calls waiting for the next lease
  };
  struct PendingLease {
    std::string key;  // leases_'s
    LimitClaim claim;
    absl::Time now;  // for the quota windows' keys
  };
  struct PendingCharge {
    std::string tenant;
    int64_t tokens;
    double audio_seconds;
    absl::Time now;
  };
  struct PendingReturn {
    std::string log_key;
    std::vector<std::string> members;
  };
  using Work = std::variant<PendingLease, PendingCharge, PendingReturn>;
  using Answers = std::vector<std::pair<Done, absl::Status>>;
  class Connection;

  void Run();
  // Sends `batch` and handles the replies; "" or what failed.
  std::string RoundTrip(Connection& connection, std::vector<Work>& batch,
                        Answers& answers);
  // The policy's answer while the store is down.
  absl::Status PolicyVerdict(const LimitClaim& claim);
  void SetUp(bool up, absl::string_view error, Answers& answers)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::string LogKey(const LimitClaim& claim) const;
  // Asks for a lease when none is on its way and the permits run low.
  void MaybeRequestLocked(const std::string& key, Lease& lease, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives back the unspent permits of a lease past its time.
  void ExpireLocked(Lease& lease, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers every waiting call with the policy and forgets every lease.
  void DropLeasesLocked(Answers& answers) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock& clock_;
  const Logger& logger_;
  const std::string member_prefix_;  // unique per process: sorted-set members
  prometheus::Gauge& up_metric_;
  prometheus::Counter& errors_metric_;
  prometheus::Counter& policy_metric_;
  prometheus::Counter& dropped_metric_;
  prometheus::Counter& leases_metric_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool up_ ABSL_GUARDED_BY(mu_) = false;
  bool ever_tried_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::deque<Work> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;  // calls in every lease's `waiting`
  uint64_t next_lease_ = 0;               // the thread's
  std::thread thread_;
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_REDIS_LIMITER_H_
