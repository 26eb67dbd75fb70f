#ifndef VOXGATE_GATEWAY_GATEWAY_COLLECTOR_H_
#define VOXGATE_GATEWAY_GATEWAY_COLLECTOR_H_

#include <vector>

#include "common/logging.h"
#include "common/worker_pool.h"
#include "prometheus/collectable.h"
#include "call/admission.h"
#include "upstream/upstreams.h"

namespace voxgate::gateway {

// Metrics read at scrape time from the live objects, so they cost nothing
// between scrapes: calls in flight and draining, admission rejections by
// reason, open streams, audio jobs waiting, log lines dropped, and per pool
// and endpoint availability, health, ejections and requests in flight.
// Thread-safe; the
// referenced objects must outlive it.
class GatewayCollector final : public prometheus::Collectable {
 public:
  GatewayCollector(const call::Admission& admission, const WorkerPool& workers,
                   const upstream::Upstreams& upstreams, const Logger& logger)
      : admission_(admission),
        workers_(workers),
        upstreams_(upstreams),
        logger_(logger) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const call::Admission& admission_;
  const WorkerPool& workers_;
  const upstream::Upstreams& upstreams_;
  const Logger& logger_;
};

}  // namespace voxgate::gateway

#endif  // VOXGATE_GATEWAY_GATEWAY_COLLECTOR_H_
