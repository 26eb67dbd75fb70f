#ifndef VOXGATE_GATEWAY_POOL_HEALTH_H_
#define VOXGATE_GATEWAY_POOL_HEALTH_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "common/timer_queue.h"
#include "grpcpp/health_check_service_interface.h"
#include "upstream/routing.h"

namespace voxgate::gateway {

// Mirrors each pool's availability into the gRPC health service, as the
// service "voxgate.pool.<name>", every second. The server's own service
// (voxgate.v1.VoxgateService) and /readyz say whether this process takes
// calls; a pool's entry says whether calls routed to it can succeed now.
// Thread-safe.
class PoolHealthReporter {
 public:
  static constexpr absl::Duration kInterval = absl::Seconds(1);
  static std::string ServiceName(const std::string& pool) {
    return "voxgate.pool." + pool;
  }

  PoolHealthReporter(TimerQueue& timers, const upstream::Routing& routing,
                     grpc::HealthCheckServiceInterface& health)
      : timers_(timers), routing_(routing), health_(health) {}
  ~PoolHealthReporter() { Stop(); }

  // Reports now, then every kInterval until Stop().
  void Start();
  // No report starts after it returns. Idempotent.
  void Stop();

 private:
  void Tick();

  TimerQueue& timers_;
  const upstream::Routing& routing_;
  grpc::HealthCheckServiceInterface& health_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  TimerQueue::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_POOL_HEALTH_H_
