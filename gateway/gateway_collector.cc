#include "gateway/gateway_collector.h"

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace voxgate::gateway {
namespace {

prometheus::MetricFamily Family(
    const char* name, const char* help,
    prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

prometheus::MetricFamily Gauge(const char* name, const char* help) {
  return Family(name, help);
}

prometheus::MetricFamily Counter(const char* name, const char* help) {
  return Family(name, help, prometheus::MetricType::Counter);
}

void Add(prometheus::MetricFamily& family, double value,
         std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
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

  families.push_back(
      Counter("voxgate_admission_rejections_total",
              "Calls refused before they started, by reason (the limit)."));
  const call::Admission::Rejections rejections = admission_.rejections();
  Add(families.back(), rejections.draining, {{"reason", "draining"}});
  Add(families.back(), rejections.too_many_waiting,
      {{"reason", "max_waiting_calls"}});
  Add(families.back(), rejections.wait_timeout, {{"reason", "admission_wait"}});
  Add(families.back(), rejections.max_streams, {{"reason", "max_streams"}});
  Add(families.back(), rejections.max_long_polls,
      {{"reason", "max_long_polls"}});
  for (const auto& [check, count] : rejections.by_check)
    Add(families.back(), count, {{"reason", check}});
  Add(families.back(), workers_.refused(), {{"reason", "worker_queue"}});
  families.push_back(
      Counter("voxgate_log_lines_dropped_total",
              "Log lines dropped because the log output fell behind."));
  Add(families.back(), logger_.dropped_lines());
  families.push_back(
      Gauge("voxgate_streams_active",
            "StreamTranscribe and TranscribeUpload calls open."));
  Add(families.back(), admission_.active_streams());

  const auto snapshots = upstreams_.EndpointSnapshots();
  auto per_endpoint = [&](prometheus::MetricFamily family, auto value) {
    for (const auto& [pool, endpoints] : snapshots) {
      for (const upstream::EndpointSnapshot& endpoint : endpoints) {
        Add(family, value(endpoint),
            {{"pool", pool}, {"endpoint", endpoint.url}});
      }
    }
    families.push_back(std::move(family));
  };
  per_endpoint(Gauge("voxgate_upstream_in_flight",
                     "Requests in flight to the endpoint."),
               [](const auto& e) { return e.outstanding; });
  per_endpoint(Gauge("voxgate_upstream_endpoint_healthy",
                     "1 when the endpoint passed its last health check and "
                     "is not ejected."),
               [](const auto& e) { return e.healthy && !e.ejected ? 1 : 0; });
  per_endpoint(Gauge("voxgate_upstream_endpoint_ejected",
                     "1 while the endpoint is ejected after consecutive "
                     "failures."),
               [](const auto& e) { return e.ejected ? 1 : 0; });
  per_endpoint(Counter("voxgate_upstream_ejections_total",
                       "Times the endpoint was ejected."),
               [](const auto& e) { return static_cast<double>(e.ejections); });
  return families;
}

}  // namespace voxgate::gateway
