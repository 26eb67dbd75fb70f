#ifndef VOXGATE_SERVER_GATEWAY_COLLECTOR_H_
#define VOXGATE_SERVER_GATEWAY_COLLECTOR_H_

#include <vector>

#include "audio/worker_pool.h"
#include "prometheus/collectable.h"
#include "server/admission.h"
#include "upstream/upstreams.h"

namespace voxgate::server {

// Gauges read at scrape time from the live objects: calls in flight, whether
// the gateway drains, audio jobs waiting, and per pool whether an endpoint is
// available. Thread-safe; the referenced objects must outlive it.
class GatewayCollector final : public prometheus::Collectable {
 public:
  GatewayCollector(const Admission& admission, const audio::WorkerPool& workers,
                   const upstream::Upstreams& upstreams)
      : admission_(admission), workers_(workers), upstreams_(upstreams) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Admission& admission_;
  const audio::WorkerPool& workers_;
  const upstream::Upstreams& upstreams_;
};

}  // namespace voxgate::server

#endif  // VOXGATE_SERVER_GATEWAY_COLLECTOR_H_
