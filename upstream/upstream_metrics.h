#ifndef VOXGATE_UPSTREAM_UPSTREAM_METRICS_H_
#define VOXGATE_UPSTREAM_UPSTREAM_METRICS_H_

#include <array>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace voxgate::upstream {

// How one attempt on an endpoint ended.
enum class AttemptOutcome {
  kSuccess,    // a 2xx answer, complete
  kHttp4xx,    // the endpoint refused the request (429 included)
  kHttp5xx,    // the endpoint failed
  kError,      // connect failure, reset, broken stream
  kTimeout,    // the caller's deadline or a stall
  kCancelled,  // the caller went away
};
inline constexpr int kAttemptOutcomes = 6;

// One pool's request metrics, resolved once so recording is a few atomic adds:
// voxgate_upstream_requests_total{pool,endpoint,outcome} (per attempt),
// voxgate_upstream_request_seconds and voxgate_upstream_ttfb_seconds (per
// attempt), voxgate_upstream_retries_total and
// voxgate_upstream_queue_wait_seconds (time waiting for an endpoint slot).
// Every series exists from the start. Thread-safe.
class PoolMetrics {
 public:
  PoolMetrics(prometheus::Registry& registry, const std::string& pool,
              const std::vector<std::string>& endpoint_urls);

  void QueueWait(absl::Duration waited) {
    queue_wait_->Observe(absl::ToDoubleSeconds(waited));
  }
  void FirstByte(absl::Duration after) {
    ttfb_->Observe(absl::ToDoubleSeconds(after));
  }
  void Attempt(int endpoint, AttemptOutcome outcome, absl::Duration took);
  void Retry() { retries_->Increment(); }

 private:
  std::vector<std::array<prometheus::Counter*, kAttemptOutcomes>> requests_;
  prometheus::Histogram* latency_;
  prometheus::Histogram* ttfb_;
  prometheus::Histogram* queue_wait_;
  prometheus::Counter* retries_;
};

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_UPSTREAM_METRICS_H_
