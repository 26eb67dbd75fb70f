#ifndef VOXGATE_UPSTREAM_POOL_H_
#define VOXGATE_UPSTREAM_POOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/timer_queue.h"
#include "upstream/http_client.h"

namespace voxgate::upstream {

struct EndpointOptions {
  // Base URL, e.g. "http://llama:8080/v1".
  std::string url;
  int weight = 1;
  int max_concurrency = 4;
};

struct PoolOptions {
  std::string name;
  std::vector<EndpointOptions> endpoints;
  // Requests waiting for a free slot, at most, and for how long (infinite:
  // up to each request's deadline).
  int max_queue = 256;
  absl::Duration queue_timeout = absl::InfiniteDuration();
  // Passive outlier ejection: this many consecutive failures eject an endpoint
  // for base_ejection * 2^(ejections - 1), at most max_ejection. When the time
  // is up one probe request goes through (half-open); success restores the
  // endpoint.
  int consecutive_failures_to_eject = 5;
  absl::Duration base_ejection = absl::Seconds(1);
  absl::Duration max_ejection = absl::Seconds(60);
  // Active health checks: GET <origin><health_path> every interval; empty path:
  // off.
  std::string health_path;
  absl::Duration health_interval = absl::Seconds(10);
  absl::Duration health_timeout = absl::Seconds(2);
};

// How an attempt on an endpoint went, for outlier detection.
enum class Outcome {
  kSuccess,
  kFailure,  // the endpoint's fault: connect error, reset, 5xx
  kNeutral,  // not the endpoint's fault: cancelled, 4xx, overload (429)
};

class PoolCore;

// A slot on one endpoint. Move-only; returns the slot on Release() or, as
// kNeutral, on destruction.
class Lease {
 public:
  Lease(std::shared_ptr<PoolCore> pool, int endpoint)
      : pool_(std::move(pool)), endpoint_(endpoint) {}
  Lease(Lease&& other) noexcept
      : pool_(std::move(other.pool_)), endpoint_(other.endpoint_) {}
  Lease& operator=(Lease&& other) noexcept;
  ~Lease() { Release(Outcome::kNeutral); }

  const std::string& url() const;
  int endpoint_index() const { return endpoint_; }
  void Release(Outcome outcome);

 private:
  std::shared_ptr<PoolCore> pool_;
  int endpoint_;
};

// What one endpoint looks like now, for metrics, readiness and tests.
struct EndpointSnapshot {
  std::string url;
  int outstanding = 0;
  bool ejected = false;
  bool healthy = true;  // last active health check
  int64_t ejections = 0;
  int64_t requests = 0;
  int64_t failures = 0;
};

// A named set of endpoints with per-endpoint concurrency caps, a bounded wait
// queue, least-outstanding-requests balancing (power of two choices, weighted),
// passive outlier ejection with half-open probes and active health checks.
// Thread-safe. Grants run on the thread that frees a slot, the timer thread or
// the caller's: they must return quickly.
class Pool {
 public:
  static std::unique_ptr<Pool> Create(PoolOptions options, HttpClient& http,
                                      TimerQueue& timers);
  ~Pool();

  const std::string& name() const;

  // Gets a slot: at once when an endpoint has room, else after waiting in the
  // queue. `avoid` (an endpoint index, or -1) is skipped when another endpoint
  // can serve. `granted` runs exactly once, with a lease or with
  // RESOURCE_EXHAUSTED (queue full or queue timeout), UNAVAILABLE (no endpoint
  // healthy) or DEADLINE_EXCEEDED. Returns an id for CancelWait().
  using Grant = std::function<void(absl::StatusOr<Lease>)>;
  uint64_t Acquire(absl::Time deadline, int avoid, Grant granted);
  // Withdraws a queued Acquire; its grant then runs with CANCELLED on the timer
  // thread, never on the caller's (which may hold locks the grant takes). No
  // effect once granted.
  void CancelWait(uint64_t id);

  // Stops health checks and refuses the queued waits (CANCELLED); requests in
  // flight keep their leases. The destructor does it too; Upstreams calls it
  // first so that it can end the transfers while the pool still exists.
  void Shutdown();

  // At least one endpoint is neither ejected nor failing health checks.
  bool HasAvailableEndpoint() const;
  std::vector<EndpointSnapshot> Snapshot() const;

 private:
  explicit Pool(std::shared_ptr<PoolCore> core) : core_(std::move(core)) {}
  std::shared_ptr<PoolCore> core_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_POOL_H_
