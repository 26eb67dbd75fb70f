#ifndef VOXGATE_UPSTREAM_POOL_CORE_H_
#define VOXGATE_UPSTREAM_POOL_CORE_H_

// The state behind a Pool: its endpoints, waiters and health checks, shared
// with the leases it grants. Internal to pool.cc and pool_health_checks.cc.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "common/waiter_queue.h"
#include "upstream/pool.h"

namespace voxgate::upstream {
namespace pool_internal {

// "http://host:8080/v1" -> "http://host:8080".
inline std::string Origin(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t path =
      url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

struct EndpointState {
  EndpointOptions options;
  std::string origin;
  int outstanding = 0;
  int consecutive_failures = 0;
  // Ejections in the current streak: sets the next ejection's length; non-zero
  // also means "on probation" (one request at a time) until a success.
  int streak = 0;
  absl::Time ejected_until = absl::InfinitePast();
  bool healthy = true;
  // The health-check round whose result set `healthy`: a probe that answers
  // (or times out) after a later one has must not undo it.
  uint64_t health_round = 0;
  int64_t ejections = 0;
  int64_t requests = 0;
  int64_t failures = 0;
};

struct Waiter {
  absl::Time deadline;
  int avoid;
  Pool::Grant granted;
};

}  // namespace pool_internal

class PoolCore : public std::enable_shared_from_this<PoolCore> {
 public:
  PoolCore(PoolOptions options, HttpClient& http, TimerQueue& timers)
      : options_(std::move(options)),
        http_(http),
        timers_(timers),
        waiters_(timers) {
    for (const EndpointOptions& endpoint : options_.endpoints) {
      pool_internal::EndpointState state;
      state.options = endpoint;
      state.origin = pool_internal::Origin(endpoint.url);
      endpoints_.push_back(std::move(state));
    }
  }

  const PoolOptions& options() const { return options_; }
  const std::string& url(int endpoint) const {
    return endpoints_[endpoint].options.url;
  }

  uint64_t Acquire(absl::Time deadline, int avoid, Pool::Grant granted);
  void CancelWait(uint64_t id);
  void Release(int endpoint, Outcome outcome);
  bool HasAvailableEndpoint() const {
    absl::MutexLock lock(&mu_);
    return AnyAvailable(timers_.Now());
  }
  std::vector<EndpointSnapshot> Snapshot() const;
  void StartHealthChecks();
  void Stop();

 private:
  bool Available(const pool_internal::EndpointState& endpoint,
                 absl::Time now) const {
    return endpoint.healthy && now >= endpoint.ejected_until;
  }
  bool HasRoom(const pool_internal::EndpointState& endpoint,
               absl::Time now) const {
    const int limit =
        endpoint.streak > 0 ? 1 : endpoint.options.max_concurrency;
    return Available(endpoint, now) && endpoint.outstanding < limit;
  }
  bool AnyAvailable(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int Pick(absl::Time now, int avoid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int WeightedDraw(const std::vector<int>& candidates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordOutcome(pool_internal::EndpointState& endpoint, Outcome outcome,
                     absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands free slots to waiters; returns the grants to run after unlocking.
  std::vector<std::pair<Pool::Grant, absl::StatusOr<Lease>>> ServeWaiters(
      absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnWaitTimeout(uint64_t id);
  void RunHealthChecks();
  void OnHealthResult(int endpoint, uint64_t round, bool healthy,
                      bool timed_out);
  void WakeAt(absl::Time when);
  absl::Status NoEndpointError(absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PoolOptions options_;
  HttpClient& http_;
  TimerQueue& timers_;
  mutable absl::Mutex mu_;
  std::vector<pool_internal::EndpointState> endpoints_ ABSL_GUARDED_BY(mu_);
  WaiterQueue<pool_internal::Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TimerQueue::TimerId health_timer_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t health_rounds_ ABSL_GUARDED_BY(mu_) = 0;
};

using GrantList = std::vector<std::pair<Pool::Grant, absl::StatusOr<Lease>>>;
// Runs the grants outside the pool's lock.
void RunGrants(GrantList grants);

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_POOL_CORE_H_
