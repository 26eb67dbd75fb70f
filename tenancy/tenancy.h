#ifndef VOXGATE_TENANCY_TENANCY_H_
#define VOXGATE_TENANCY_TENANCY_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "common/logging.h"
#include "common/redis_connection.h"
#include "common/timer_queue.h"
#include "prometheus/registry.h"
#include "tenancy/keys_store.h"
#include "tenancy/limiter.h"
#include "tenancy/tenant_gate.h"
#include "tenancy/tenant_metrics.h"
#include "voxgate/config/v1/config.pb.h"

namespace voxgate::tenancy {

// redis.* of the configuration (its address validated by the loader).
RedisOptions RedisOptionsFrom(const ::voxgate::config::v1::RedisConfig& redis);

// Tenants as the configuration asks: the keys file (auth), the limiter (Redis
// when redis.address is set, else per replica) and the gate admission runs.
class Tenancy {
 public:
  // Null when auth.keys_file is unset (every call is served, as without
  // tenants). Errors name the keys file and the key at fault.
  static absl::StatusOr<std::unique_ptr<Tenancy>> Create(
      const ::voxgate::config::v1::Config& config, TimerQueue& timers,
      const Logger& logger, prometheus::Registry& registry);

  TenantGate& gate() { return *gate_; }

 private:
  Tenancy() = default;
  std::unique_ptr<TenantMetrics> metrics_;
  // gate_ for the keys store's reloads (which start before it exists).
  std::atomic<TenantGate*> reload_gate_{nullptr};
  std::unique_ptr<TenantGate> gate_;
  // Destroyed before the gate: its reloads tell the gate of revoked keys.
  std::unique_ptr<KeysStore> keys_;
  // Destroyed first: its thread answers the checks it still holds into the
  // gate as it stops.
  std::unique_ptr<Limiter> limiter_;
};

}  // namespace voxgate::tenancy

#endif  // VOXGATE_TENANCY_TENANCY_H_
