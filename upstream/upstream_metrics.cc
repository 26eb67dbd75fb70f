#include "upstream/upstream_metrics.h"

namespace voxgate::upstream {
namespace {

constexpr const char* kOutcomeNames[kAttemptOutcomes] = {
    "success", "http_4xx", "http_5xx", "error", "timeout", "cancelled"};

// Model servers answer in milliseconds (a cache hit) to minutes (a long
// transcription).
const prometheus::Histogram::BucketBoundaries& UpstreamBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
      1,     2.5,    5,     10,   30,    60,   120, 300};
  return *buckets;
}

}  // namespace

PoolMetrics::PoolMetrics(prometheus::Registry& registry,
                         const std::string& pool,
                         const std::vector<std::string>& endpoint_urls) {
  // BuildX().Register returns the existing family when another pool already
  // registered it with the same help.
  auto& requests = prometheus::BuildCounter()
                       .Name("voxgate_upstream_requests_total")
                       .Help(
                           "Upstream request attempts, by pool, endpoint "
                           "and outcome.")
                       .Register(registry);
  for (const std::string& url : endpoint_urls) {
    std::array<prometheus::Counter*, kAttemptOutcomes> by_outcome{};
    for (int i = 0; i < kAttemptOutcomes; ++i) {
      by_outcome[i] = &requests.Add(
          {{"pool", pool}, {"endpoint", url}, {"outcome", kOutcomeNames[i]}});
    }
    requests_.push_back(by_outcome);
  }
  latency_ = &prometheus::BuildHistogram()
                  .Name("voxgate_upstream_request_seconds")
                  .Help(
                      "Upstream attempt time, from sending to the end of "
                      "the answer, seconds.")
                  .Register(registry)
                  .Add({{"pool", pool}}, UpstreamBuckets());
  ttfb_ = &prometheus::BuildHistogram()
               .Name("voxgate_upstream_ttfb_seconds")
               .Help("Upstream time to the response headers, seconds.")
               .Register(registry)
               .Add({{"pool", pool}}, UpstreamBuckets());
  queue_wait_ = &prometheus::BuildHistogram()
                     .Name("voxgate_upstream_queue_wait_seconds")
                     .Help(
                         "Time a request waited for a free endpoint slot, "
                         "seconds.")
                     .Register(registry)
                     .Add({{"pool", pool}}, UpstreamBuckets());
  retries_ = &prometheus::BuildCounter()
                  .Name("voxgate_upstream_retries_total")
                  .Help("Upstream attempts that were retries.")
                  .Register(registry)
                  .Add({{"pool", pool}});
}

void PoolMetrics::Attempt(int endpoint, AttemptOutcome outcome,
                          absl::Duration took) {
  if (endpoint >= 0 && endpoint < static_cast<int>(requests_.size())) {
    requests_[endpoint][static_cast<int>(outcome)]->Increment();
  }
  latency_->Observe(absl::ToDoubleSeconds(took));
}

}  // namespace voxgate::upstream
