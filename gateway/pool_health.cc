#include "gateway/pool_health.h"

namespace voxgate::gateway {

void PoolHealthReporter::Start() { Tick(); }

void PoolHealthReporter::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  timers_.Cancel(timer_);
}

void PoolHealthReporter::Tick() {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  for (const auto& [pool, available] : routing_.PoolAvailability()) {
    health_.SetServingStatus(ServiceName(pool), available);
  }
  timer_ = timers_.ScheduleAfter(kInterval, [this] { Tick(); });
}

}  // namespace voxgate::gateway
