#include "server/gateway_collector.h"

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace voxgate::server {
namespace {

prometheus::MetricFamily Gauge(const char* name, const char* help) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  return family;
}

void Add(prometheus::MetricFamily& family, double value,
         std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
}

}  // namespace

std::vector<prometheus::MetricFamily> GatewayCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(
      Gauge("voxgate_calls_in_flight", "Calls admitted and not finished."));
  Add(families.back(), admission_.active());
  families.push_back(
      Gauge("voxgate_draining", "1 while the gateway drains for shutdown."));
  Add(families.back(), admission_.draining() ? 1 : 0);
  families.push_back(Gauge("voxgate_audio_jobs_queued",
                           "Audio jobs waiting for a worker thread."));
  Add(families.back(), workers_.queued());
  families.push_back(
      Gauge("voxgate_upstream_pool_available",
            "1 when at least one endpoint of the pool can take requests."));
  for (const auto& [pool, available] : upstreams_.PoolAvailability()) {
    Add(families.back(), available ? 1 : 0, {{"pool", pool}});
  }
  return families;
}

}  // namespace voxgate::server
